use std::path::PathBuf;

use super::text::*;
use super::*;
use crate::models::Recommender;
use crate::params::Value;

fn opts(sublinear_tf: bool) -> TfidfOptions {
    TfidfOptions {
        sublinear_tf,
        min_df: 1,
        max_df: 1.0,
    }
}

#[test]
fn tokens_split_genres_and_title_words_lowercased() {
    let t: Vec<String> = tokens("Toy Story (1995)").collect();
    assert_eq!(t, ["toy", "story", "1995"]);
    let t: Vec<String> = tokens("Action|Sci-Fi|Children").collect();
    assert_eq!(t, ["action", "sci", "fi", "children"]);
    assert_eq!(tokens("a | (b)").count(), 0);
}

#[test]
fn hand_computed_tfidf_and_cosine() {
    let cols = vec!["g".to_string()];
    let docs = vec![
        vec!["xx yy yy".to_string()],
        vec!["yy".to_string()],
        vec![String::new()],
    ];
    // N = 3; df(xx) = 1, df(yy) = 2; idf = ln(4 / (1 + df)) + 1.
    let (ix, iy) = ((4f64 / 2.0).ln() + 1.0, (4f64 / 3.0).ln() + 1.0);
    let (m, vocab) = tfidf(&docs, &cols, &opts(false));
    assert_eq!(vocab, ["g:xx", "g:yy"]);
    let n0 = (ix * ix + (2.0 * iy) * (2.0 * iy)).sqrt();
    let (c, v) = m.row(0);
    assert_eq!(c, [0, 1]);
    assert!((v[0] - ix / n0).abs() < 1e-12 && (v[1] - 2.0 * iy / n0).abs() < 1e-12);
    assert_eq!(m.row(1), (&[1u32][..], &[1.0][..]));
    assert_eq!(m.row(2).0.len(), 0);
    // Sublinear tf: 1 + ln 2 for yy in doc 0.
    let (m, _) = tfidf(&docs, &cols, &opts(true));
    let s = 1.0 + 2f64.ln();
    let n0 = (ix * ix + (s * iy) * (s * iy)).sqrt();
    assert!((m.row(0).1[1] - s * iy / n0).abs() < 1e-12);
    // max_df drops yy (in 2 of 3 items > 0.5 x 3); min_df 2 drops xx.
    let (_, vocab) = tfidf(
        &docs,
        &cols,
        &TfidfOptions {
            sublinear_tf: false,
            min_df: 1,
            max_df: 0.5,
        },
    );
    assert_eq!(vocab, ["g:xx"]);
    let (_, vocab) = tfidf(
        &docs,
        &cols,
        &TfidfOptions {
            sublinear_tf: false,
            min_df: 2,
            max_df: 1.0,
        },
    );
    assert_eq!(vocab, ["g:yy"]);
    // The model (sublinear tf by default): the similarity of items 0 and 1 is the cosine of their rows.
    let train = Csr::empty(2, 3);
    let model = ContentModel::fit(ContentParams::default(), &train, &docs, &cols).unwrap();
    let (js, sims) = model.neighbours.row(0);
    assert_eq!(js, [0, 1]);
    assert!((sims[1] as f64 - s * iy / n0).abs() < 1e-6, "{}", sims[1]);
}

fn write(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cf-content-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn side_file_errors_name_the_file_line_and_column() {
    let p = write(
        "a.csv",
        "movieId,title,genres\n1,A b,Action\n2,\"C, d\",Comedy|Drama\n",
    );
    let t = read_item_texts(&p, "movieId", &["title".into(), "genres".into()]).unwrap();
    assert_eq!(t.ids, ["1", "2"]);
    assert_eq!(t.texts[1], ["C, d", "Comedy|Drama"]);
    let e = read_item_texts(&p, "movieId", &["genre".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a.csv") && e.contains("no column \"genre\""),
        "{e}"
    );
    let p = write("b.csv", "id,title\n1,x\n2,y\n1,z\n");
    let e = read_item_texts(&p, "id", &["title".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("b.csv:4") && e.contains("id \"1\" repeats the row of line 2"),
        "{e}"
    );
    let p = write("c.csv", "id,title,genres\n1,x\n");
    let e = read_item_texts(&p, "id", &["genres".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("c.csv:2") && e.contains("no value for column \"genres\""),
        "{e}"
    );
}

#[test]
fn items_without_ratings_get_similar_lists_and_recommendations_on_ml_latest_small() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/ml-latest-small/movies.csv.gz");
    let texts = read_item_texts(&path, "movieId", &["title".into(), "genres".into()]).unwrap();
    let n = texts.ids.len();
    let index: std::collections::HashMap<&str, u32> = texts
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect();
    let (docs, used) = align(&texts, n, |id| index.get(id).copied());
    assert_eq!(used, n);
    // One user who liked Toy Story (movieId 1); Toy Story 2 (3114) has no interaction at all.
    let toy = index["1"];
    let toy2 = index["3114"];
    let train = Csr::from_coo(1, n, &[0], &[toy], &[1.0]).unwrap();
    let p = ContentParams::from_raw([("k", Value::Num(30.0))]).unwrap();
    let model = ContentModel::fit(p, &train, &docs, &texts.columns).unwrap();
    let sim = model.similar_items(toy2, 5).unwrap();
    assert_eq!(sim[0].0, toy, "{sim:?}");
    let recs = crate::topk::recommend(&model, 0, 10, &[&train]).unwrap();
    assert!(recs.iter().any(|&(i, _)| i == toy2), "{recs:?}");
}

#[test]
fn side_file_items_join_the_item_map_after_the_others() {
    let mut ds =
        crate::data::prepare::Dataset::from_indices(vec![0, 1], vec![0, 1], vec![1.0, 1.0], None)
            .unwrap();
    let p = write("ids.csv", "id,title\n1,x\n7,y\n8,z\n");
    let ids = read_item_ids(&p, "id").unwrap();
    assert_eq!(ds.add_items(ids.iter().map(String::as_str)), 2);
    assert_eq!(ds.item_ids.ids().collect::<Vec<_>>(), ["0", "1", "7", "8"]);
    assert_eq!(ds.n_items(), 4);
}
