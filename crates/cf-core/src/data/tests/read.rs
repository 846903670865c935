use std::io::Write;

use super::{file_error, pairs, parse_error, read, read_str, TempDir};
use crate::data::read::{detect_delimiter, Column, Delimiter, ReadOptions};
use crate::error::Error;

fn with_delimiter(d: Delimiter) -> ReadOptions {
    ReadOptions {
        delimiter: Some(d),
        ..Default::default()
    }
}

fn names(user: &str, item: &str) -> ReadOptions {
    ReadOptions {
        user: Some(Column::Name(user.into())),
        item: Some(Column::Name(item.into())),
        ..Default::default()
    }
}

#[test]
fn delimiter_parse() {
    assert_eq!(Delimiter::parse("::").unwrap(), Delimiter::DoubleColon);
    assert_eq!(Delimiter::parse("\\t").unwrap(), Delimiter::Byte(b'\t'));
    assert_eq!(Delimiter::parse("tab").unwrap(), Delimiter::Byte(b'\t'));
    assert_eq!(Delimiter::parse("\t").unwrap(), Delimiter::Byte(b'\t'));
    assert_eq!(Delimiter::parse(",").unwrap(), Delimiter::Byte(b','));
    assert_eq!(Delimiter::parse(" ").unwrap(), Delimiter::Byte(b' '));
    for bad in ["ab", "", "é", ":::", "\"", "\n", "\r"] {
        match Delimiter::parse(bad) {
            Err(Error::InvalidParam { name, message }) => {
                assert_eq!(name, "delimiter");
                assert!(message.contains("one character"), "{message}");
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn each_delimiter_given() {
    let cases = [
        (",", Delimiter::Byte(b',')),
        ("\t", Delimiter::Byte(b'\t')),
        ("::", Delimiter::DoubleColon),
        ("|", Delimiter::Byte(b'|')),
        (";", Delimiter::Byte(b';')),
        (" ", Delimiter::Byte(b' ')),
    ];
    for (d, delim) in cases {
        let content = format!("1{d}10{d}5{d}100\n2{d}20{d}3.5{d}200\n");
        let r = read_str(&content, &with_delimiter(delim)).unwrap();
        assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]), "{d:?}");
        assert_eq!(r.rows.ratings, Some(vec![5.0, 3.5]), "{d:?}");
        assert_eq!(r.rows.times, Some(vec![100, 200]), "{d:?}");
        assert_eq!(r.rows.lines, vec![1, 2], "{d:?}");
    }
}

#[test]
fn each_delimiter_detected() {
    for d in [",", "\t", "::", "|", ";"] {
        let content = format!("1{d}10{d}5\n2{d}20{d}3\n");
        let r = read_str(&content, &ReadOptions::default()).unwrap();
        assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]), "{d:?}");
        assert_eq!(r.rows.ratings, Some(vec![5.0, 3.0]), "{d:?}");
    }
}

#[test]
fn detect_delimiter_rules() {
    let p = std::path::Path::new("x.csv");
    let detect = |s: &str| detect_delimiter(p, s.as_bytes()).unwrap();
    // The most frequent candidate of the first non-blank line wins.
    assert_eq!(detect("a|b|c,d\n1,2,3,4\n"), Delimiter::Byte(b'|'));
    assert_eq!(detect("\n  \na\tb\tc\n"), Delimiter::Byte(b'\t'));
    // `::` wins over everything, even a more frequent single byte.
    assert_eq!(detect("a,b,c,d::e\n"), Delimiter::DoubleColon);
    // Quoted commas still count: detection is a byte count, not a parse.
    assert_eq!(detect("\"a,b,c\";d\n"), Delimiter::Byte(b','));

    let msg = file_error(detect_delimiter(p, b"a b c\n").unwrap_err(), p);
    assert!(msg.contains("cannot detect the delimiter"), "{msg}");
    assert!(msg.contains("data.delimiter"), "{msg}");
    let msg = file_error(detect_delimiter(p, b" \r\n\n").unwrap_err(), p);
    assert_eq!(msg, "file is empty");
}

#[test]
fn space_delimiter_is_not_detected() {
    let dir = TempDir::new("space");
    let path = dir.file("d.txt", "1 10 5\n2 20 3\n");
    let msg = file_error(read(&path, &ReadOptions::default()).unwrap_err(), &path);
    assert!(msg.contains("cannot detect the delimiter"), "{msg}");
}

#[test]
fn numeric_header_detected() {
    let r = read_str(
        "userId,movieId,rating,timestamp\n1,10,4.0,964982703\n1,20,3.5,964981247\n",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10"), ("1", "20")]));
    assert_eq!(r.rows.ratings, Some(vec![4.0, 3.5]));
    assert_eq!(r.rows.times, Some(vec![964982703, 964981247]));
    assert_eq!(r.rows.lines, vec![2, 3]);
}

#[test]
fn header_detected_from_the_rating_column_with_string_ids() {
    let r = read_str(
        "user,item,rating\nu1,i1,5\nu2,i1,4\n",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("u1", "i1"), ("u2", "i1")]));
    assert_eq!(r.rows.ratings, Some(vec![5.0, 4.0]));
}

#[test]
fn numeric_first_row_is_data() {
    let r = read_str("1,10,5\n2,20,3\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]));
    assert_eq!(r.rows.lines, vec![1, 2]);
    // A single row is data too: there is no second row to compare with.
    let r = read_str("1,10,5\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10")]));
}

#[test]
fn string_ids_without_header_are_data() {
    let r = read_str("u1,i1\nu2,i1\nu1,i2\n", &ReadOptions::default()).unwrap();
    assert_eq!(
        r.pairs(),
        pairs(&[("u1", "i1"), ("u2", "i1"), ("u1", "i2")])
    );
    assert_eq!(r.rows.users, vec![0, 1, 0]);
    assert_eq!(r.rows.items, vec![0, 0, 1]);
    assert_eq!(r.rows.ratings, None);
    assert_eq!(r.rows.times, None);
}

#[test]
fn ids_are_text_not_numbers() {
    // "007" and "7" are different users: ids are kept as they are written.
    let r = read_str("007,1\n7,1\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.users.len(), 2);
    assert_eq!(r.pairs(), pairs(&[("007", "1"), ("7", "1")]));
    // Fields are trimmed.
    let r = read_str(" 5 , 6 , 2 \n7,8,1\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("5", "6"), ("7", "8")]));
    assert_eq!(r.rows.ratings, Some(vec![2.0, 1.0]));
}

#[test]
fn header_forced() {
    let on = ReadOptions {
        header: Some(true),
        ..Default::default()
    };
    let r = read_str("1,10\n2,20\n", &on).unwrap();
    assert_eq!(r.pairs(), pairs(&[("2", "20")]));
    assert_eq!(r.rows.lines, vec![2]);

    let off = ReadOptions {
        header: Some(false),
        ..Default::default()
    };
    let r = read_str("user,item\nu1,i1\n", &off).unwrap();
    assert_eq!(r.pairs(), pairs(&[("user", "item"), ("u1", "i1")]));

    let dir = TempDir::new("hdr");
    let path = dir.file("h.csv", "user,item\n1,2\n");
    let no_header_but_names = ReadOptions {
        header: Some(false),
        ..names("user", "item")
    };
    let msg = file_error(read(&path, &no_header_but_names).unwrap_err(), &path);
    assert!(
        msg.contains("columns are given by name but data.header is false"),
        "{msg}"
    );
}

#[test]
fn named_columns_in_any_order() {
    let opts = ReadOptions {
        rating: Some(Column::Name("score".into())),
        time: Some(Column::Name("ts".into())),
        ..names("user", "item")
    };
    let r = read_str("ts,item,user,score\n100,a,u1,3\n200,b,u2,4\n", &opts).unwrap();
    assert_eq!(r.pairs(), pairs(&[("u1", "a"), ("u2", "b")]));
    assert_eq!(r.rows.ratings, Some(vec![3.0, 4.0]));
    assert_eq!(r.rows.times, Some(vec![100, 200]));
    assert_eq!(r.rows.lines, vec![2, 3]);
}

#[test]
fn named_columns_make_the_first_row_a_header_even_when_numeric_elsewhere_is_absent() {
    // No numeric evidence at all, but names are given: the first row must be the header.
    let r = read_str("a,u,i\nx,u1,i1\ny,u2,i2\n", &names("u", "i")).unwrap();
    assert_eq!(r.pairs(), pairs(&[("u1", "i1"), ("u2", "i2")]));
}

#[test]
fn indexed_columns() {
    let opts = ReadOptions {
        user: Some(Column::Index(2)),
        item: Some(Column::Index(0)),
        rating: Some(Column::Index(3)),
        ..Default::default()
    };
    let r = read_str("a,x,u1,2,99\nb,y,u2,3,98\n", &opts).unwrap();
    assert_eq!(r.pairs(), pairs(&[("u1", "a"), ("u2", "b")]));
    assert_eq!(r.rows.ratings, Some(vec![2.0, 3.0]));
    // Given user/item columns turn off the default rating (#2) and time (#3) columns.
    assert_eq!(r.rows.times, None);
    let opts = ReadOptions {
        user: Some(Column::Index(1)),
        item: Some(Column::Index(0)),
        ..Default::default()
    };
    let r = read_str("1,2,3,4\n5,6,7,8\n", &opts).unwrap();
    assert_eq!(r.pairs(), pairs(&[("2", "1"), ("6", "5")]));
    assert_eq!((r.rows.ratings, r.rows.times), (None, None));
}

#[test]
fn default_columns_follow_the_width_of_the_first_row() {
    let r = read_str("1,2\n3,4\n", &ReadOptions::default()).unwrap();
    assert_eq!((r.rows.ratings, r.rows.times), (None, None));
    let r = read_str("1,2,3\n3,4,5\n", &ReadOptions::default()).unwrap();
    assert_eq!((r.rows.ratings, r.rows.times), (Some(vec![3.0, 5.0]), None));
    let r = read_str("1,2,3,4,extra\n3,4,5,6,more\n", &ReadOptions::default()).unwrap();
    assert_eq!(
        (r.rows.ratings, r.rows.times),
        (Some(vec![3.0, 5.0]), Some(vec![4, 6]))
    );
}

#[test]
fn missing_named_column_names_the_file_and_the_header() {
    let dir = TempDir::new("missing");
    let path = dir.file("ratings.csv", "userId,movieId,rating\n1,2,3\n");
    let opts = ReadOptions {
        rating: Some(Column::Name("score".into())),
        ..names("userId", "movieId")
    };
    let e = read(&path, &opts).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_DATA");
    assert!(e.to_string().starts_with(&format!("{}: ", path.display())));
    let msg = file_error(e, &path);
    assert_eq!(
        msg,
        "no column named \"score\" for the rating (header has: userId, movieId, rating)"
    );
}

#[test]
fn a_name_the_header_repeats_is_ambiguous() {
    let dir = TempDir::new("dup");
    let path = dir.file("d.csv", "id,id,rating\n1,10,5\n2,20,4\n");
    let msg = file_error(read(&path, &names("id", "rating")).unwrap_err(), &path);
    assert_eq!(
        msg,
        "the header names 2 columns \"id\" (#0, #1), so the user column is ambiguous; give it by 0-based index"
    );
    // Repeated names that no role refers to are fine.
    let r = read(
        &path,
        &ReadOptions {
            header: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]));
}

#[test]
fn missing_named_column_message_is_one_short_line() {
    // Found by the `read` fuzz target: header names went into the message as they were, so a
    // quoted name with a newline, or a first "row" that is the whole file, made a message of
    // many lines (the CLI prints errors as one line).
    let dir = TempDir::new("header-list");
    let path = dir.file("q.csv", "\"user\nid\",item\n1,2\n");
    let opts = ReadOptions {
        delimiter: Some(Delimiter::Byte(b',')),
        ..names("user", "item")
    };
    let msg = file_error(read(&path, &opts).unwrap_err(), &path);
    assert_eq!(
        msg,
        "no column named \"user\" for the user (header has: \"user\\nid\", item)"
    );
    let long = format!("{},x\n1,2\n", "a".repeat(100));
    let path = dir.file("long.csv", long);
    let msg = file_error(read(&path, &names("user", "item")).unwrap_err(), &path);
    assert_eq!(
        msg,
        format!(
            "no column named \"user\" for the user (header has: {}..., x)",
            "a".repeat(40)
        )
    );
    let wide = (0..25)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let path = dir.file("wide.csv", format!("{wide}\n"));
    let msg = file_error(read(&path, &names("user", "item")).unwrap_err(), &path);
    assert!(msg.ends_with("c18, c19, ... 5 more)"), "{msg}");
}

#[test]
fn same_user_and_item_column_is_an_error() {
    let dir = TempDir::new("same");
    let path = dir.file("d.csv", "1,2\n3,4\n");
    let opts = ReadOptions {
        user: Some(Column::Index(1)),
        item: Some(Column::Index(1)),
        ..Default::default()
    };
    let msg = file_error(read(&path, &opts).unwrap_err(), &path);
    assert_eq!(msg, "the user and item columns are the same column (#1)");
}

#[test]
fn too_few_fields_names_file_and_line() {
    let dir = TempDir::new("few");
    let path = dir.file("d.csv", "1,10,5\n2,20,4\n\n3,30\n");
    let e = read(&path, &ReadOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}:4: expected at least 3 fields, found 2", path.display())
    );
    parse_error(e, &path, 4);

    // Named columns count too: the item column is #3, so a row needs 4 fields.
    let path = dir.file("n.csv", "a,b,user,item\n1,2,3,4\n1,2,3\n");
    let msg = parse_error(read(&path, &names("user", "item")).unwrap_err(), &path, 3);
    assert_eq!(msg, "expected at least 4 fields, found 3");
}

#[test]
fn largest_column_index_is_a_short_row_not_an_overflow() {
    // Found by the `read` fuzz target: `1 + usize::MAX` fields needed overflowed, a panic in
    // debug builds and in release a count of 0 that let `rec[usize::MAX]` index out of bounds.
    let dir = TempDir::new("huge-index");
    let path = dir.file("d.csv", "1,10\n2,20\n");
    for index in [u32::MAX as usize, usize::MAX] {
        let opts = ReadOptions {
            rating: Some(Column::Index(index)),
            ..Default::default()
        };
        let msg = parse_error(read(&path, &opts).unwrap_err(), &path, 1);
        assert_eq!(
            msg,
            format!(
                "expected at least {} fields, found 2",
                index.saturating_add(1)
            )
        );
    }
}

#[test]
fn bad_values_name_file_line_column_and_value() {
    let dir = TempDir::new("bad");
    for (value, what) in [
        ("inf", "is not finite"),
        ("NaN", "is not finite"),
        ("-inf", "is not finite"),
    ] {
        let path = dir.file("d.csv", format!("u,i,r\n1,10,5\n2,20,{value}\n"));
        let msg = parse_error(read(&path, &ReadOptions::default()).unwrap_err(), &path, 3);
        assert_eq!(msg, format!("column \"r\" value \"{value}\" {what}"));
    }
    let path = dir.file("d.csv", "1,10,5\n2,20,4\n3,30,five\n");
    let msg = parse_error(read(&path, &ReadOptions::default()).unwrap_err(), &path, 3);
    assert_eq!(msg, "column #2 value \"five\" is not a number");

    let path = dir.file("d.csv", "1,10,5,100\n2,20,4,noon\n");
    let msg = parse_error(read(&path, &ReadOptions::default()).unwrap_err(), &path, 2);
    assert_eq!(msg, "column #3 value \"noon\" is not a timestamp number");

    let path = dir.file("d.csv", "1,10\n,20\n");
    let msg = parse_error(read(&path, &ReadOptions::default()).unwrap_err(), &path, 2);
    assert_eq!(msg, "empty user id in column #0");
    let path = dir.file("d.csv", "user,item\n1,10\n2,\"\"\n");
    let msg = parse_error(read(&path, &names("user", "item")).unwrap_err(), &path, 3);
    assert_eq!(msg, "empty item id in column \"item\"");
}

#[test]
fn timestamps_may_be_floats() {
    let r = read_str(
        "1,10,5,1.5e9\n2,20,4,12.9\n3,30,3,-7\n",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.rows.times, Some(vec![1_500_000_000, 12, -7]));
}

#[test]
fn quoted_fields() {
    let r = read_str(
        "\"u,1\",\"i \"\"x\"\"\",5\n\"u2\",i2,\"4\"\n",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("u,1", "i \"x\""), ("u2", "i2")]));
    assert_eq!(r.rows.ratings, Some(vec![5.0, 4.0]));
}

#[test]
fn double_colon_does_not_quote() {
    // MovieLens `::` files have titles with quotes; `::` reads quotes as plain bytes.
    let r = read_str("1::\"a\"::5\n2::b\"::3\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "\"a\""), ("2", "b\"")]));
}

#[test]
fn crlf_line_ends() {
    let r = read_str(
        "userId,movieId,rating,timestamp\r\n1,10,4.0,5\r\n2,20,3.5,6\r\n",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]));
    assert_eq!(r.rows.ratings, Some(vec![4.0, 3.5]));
    assert_eq!(r.rows.times, Some(vec![5, 6]));
    assert_eq!(r.rows.lines, vec![2, 3]);
    // Two columns and CRLF: the last id must not keep the '\r'.
    let r = read_str("u1\ti1\r\nu2\ti2\r\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("u1", "i1"), ("u2", "i2")]));
}

#[test]
fn cr_only_line_ends_count_as_lines() {
    // Classic Mac files end lines with a lone '\r': rows split there, and so must line numbers.
    let r = read_str("u,i,r\r1,10,4\r\r2,20,3\r", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]));
    assert_eq!(r.rows.lines, vec![2, 4]);
    let dir = TempDir::new("cr");
    let path = dir.file("d.csv", "u,i,r\ra,b,3\rc,d,x\r");
    let msg = parse_error(read(&path, &ReadOptions::default()).unwrap_err(), &path, 3);
    assert_eq!(msg, "column \"r\" value \"x\" is not a number");
    // Mixed ends, and a quoted field spanning lines, still count every line.
    let r = read_str("1,10\r\n\"a\rb\",20\n3,30\r4,40\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.rows.lines, vec![1, 2, 4, 5]);
}

#[test]
fn long_values_are_cut_short_in_messages() {
    let dir = TempDir::new("long");
    let long = "9".repeat(5000) + "x";
    let path = dir.file("d.csv", format!("1,10,5,100\n2,20,4,{long}\n"));
    let msg = parse_error(read(&path, &ReadOptions::default()).unwrap_err(), &path, 2);
    assert_eq!(
        msg,
        format!(
            "column #3 value \"{}\"... (5001 bytes) is not a timestamp number",
            "9".repeat(40)
        )
    );
}

#[test]
fn timestamps_beyond_64_bits_are_errors_not_clamped() {
    let dir = TempDir::new("time");
    for value in ["1e300", "-1e19", "inf"] {
        let path = dir.file("d.csv", format!("1,10,5,100\n2,20,4,{value}\n"));
        let msg = parse_error(read(&path, &ReadOptions::default()).unwrap_err(), &path, 2);
        assert_eq!(
            msg,
            format!("column #3 value \"{value}\" is not a timestamp within the range of a 64-bit integer")
        );
    }
}

#[test]
fn blank_lines_are_skipped_and_line_numbers_kept() {
    let r = read_str("\n1,10\n\n  \n2,20\n\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]));
    assert_eq!(r.rows.lines, vec![2, 5]);
}

#[test]
fn latin1_bytes() {
    // 0xE9 alone is not UTF-8: the file is read as Latin-1, where it is 'é'.
    let r = read_str(
        b"caf\xe9|1|5\nna\xefve|2|4\n".as_slice(),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("café", "1"), ("naïve", "2")]));
    // The same text in UTF-8 gives the same ids.
    let r = read_str("café|1|5\nnaïve|2|4\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("café", "1"), ("naïve", "2")]));
}

#[test]
fn gzip_input() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"userId\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n")
        .unwrap();
    let bytes = gz.finish().unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let dir = TempDir::new("gz");
    // Detected by the magic bytes, whatever the name.
    for name in ["user_artists.dat.gz", "user_artists.dat"] {
        let r = read(&dir.file(name, &bytes), &ReadOptions::default()).unwrap();
        assert_eq!(r.pairs(), pairs(&[("2", "51"), ("2", "52")]), "{name}");
        assert_eq!(r.rows.ratings, Some(vec![13883.0, 11690.0]), "{name}");
        assert_eq!(r.rows.lines, vec![2, 3], "{name}");
    }
    // A truncated stream is an I/O error naming the file.
    let path = dir.file("cut.gz", &bytes[..bytes.len() / 2]);
    match read(&path, &ReadOptions::default()).unwrap_err() {
        Error::Io { path: p, .. } => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = TempDir::new("nofile");
    let path = dir.0.join("absent.csv");
    let e = read(&path, &ReadOptions::default()).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_IO");
    assert!(matches!(e, Error::Io { path: ref p, .. } if *p == path));
}

#[test]
fn empty_files() {
    let dir = TempDir::new("empty");
    for content in ["", "\n\n", " \r\n"] {
        let path = dir.file("e.csv", content);
        let msg = file_error(read(&path, &ReadOptions::default()).unwrap_err(), &path);
        assert_eq!(msg, "file is empty", "{content:?}");
    }
    let path = dir.file("h.csv", "user,item\n");
    let opts = ReadOptions {
        header: Some(true),
        ..Default::default()
    };
    let msg = file_error(read(&path, &opts).unwrap_err(), &path);
    assert_eq!(msg, "no data rows after the header");
}

#[test]
fn utf8_bom_is_stripped() {
    let r = read_str(
        "\u{feff}userId,movieId,rating\n1,10,4\n",
        &names("userId", "movieId"),
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10")]));
    let r = read_str("\u{feff}u1,i1\nu2,i2\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("u1", "i1"), ("u2", "i2")]));
}

#[test]
fn files_share_id_maps() {
    let dir = TempDir::new("shared");
    let a = dir.file("a.csv", "u1,i1\nu2,i2\n");
    let b = dir.file("b.csv", "u2,i3\nu3,i1\n");
    let mut users = crate::data::ids::IdMap::new();
    let mut items = crate::data::ids::IdMap::new();
    let ra =
        crate::data::read::read_rows(&a, &ReadOptions::default(), &mut users, &mut items).unwrap();
    let rb =
        crate::data::read::read_rows(&b, &ReadOptions::default(), &mut users, &mut items).unwrap();
    assert_eq!((ra.users, ra.items), (vec![0, 1], vec![0, 1]));
    assert_eq!((rb.users, rb.items), (vec![1, 2], vec![2, 0]));
    assert_eq!(users.ids().collect::<Vec<_>>(), ["u1", "u2", "u3"]);
    assert_eq!(items.ids().collect::<Vec<_>>(), ["i1", "i2", "i3"]);
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut units: Vec<u16> = Vec::new();
    if bom {
        units.push(0xFEFF);
    }
    units.extend(text.encode_utf16());
    units
        .iter()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

#[test]
fn utf16_is_refused_with_a_clear_message() {
    let dir = TempDir::new("utf16");
    let text = "userId,movieId,rating\r\n1,10,4\r\n2,20,3.5\r\n";
    let cases = [
        (
            utf16(text, false, true),
            "UTF-16 (little-endian)",
            "UTF-16LE",
        ),
        (utf16(text, true, true), "UTF-16 (big-endian)", "UTF-16BE"),
        (
            utf16(text, false, false),
            "UTF-16 (little-endian)",
            "UTF-16LE",
        ),
        (utf16(text, true, false), "UTF-16 (big-endian)", "UTF-16BE"),
    ];
    for (bytes, name, iconv) in cases {
        let path = dir.file("u16.csv", &bytes);
        let e = read(&path, &ReadOptions::default()).unwrap_err();
        assert_eq!(e.code(), "ERR_CF_DATA");
        let msg = file_error(e, &path);
        assert_eq!(
            msg,
            format!("file is {name}; convert it to UTF-8 (e.g. iconv -f {iconv} -t UTF-8)")
        );
        // The same inside gzip: the check runs on the decompressed bytes.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let path = dir.file("u16.csv.gz", gz.finish().unwrap());
        let msg = file_error(read(&path, &names("userId", "movieId")).unwrap_err(), &path);
        assert!(msg.starts_with(&format!("file is {name};")), "{msg}");
    }
    // Non-ASCII ids do not hide it: the delimiters and digits are still ASCII.
    let bytes = utf16("ユーザー1,映画1\nユーザー2,映画2\n", false, false);
    let path = dir.file("jp.csv", &bytes);
    let msg = file_error(read(&path, &ReadOptions::default()).unwrap_err(), &path);
    assert!(msg.starts_with("file is UTF-16 (little-endian)"), "{msg}");
}

#[test]
fn utf32_is_refused() {
    let dir = TempDir::new("utf32");
    let mut le = vec![0xFF, 0xFE, 0, 0];
    le.extend("1,2\n".chars().flat_map(|c| (c as u32).to_le_bytes()));
    let path = dir.file("u32.csv", &le);
    let msg = file_error(read(&path, &ReadOptions::default()).unwrap_err(), &path);
    assert_eq!(
        msg,
        "file is UTF-32 (little-endian); convert it to UTF-8 (e.g. iconv -f UTF-32LE -t UTF-8)"
    );
    let mut be = vec![0, 0, 0xFE, 0xFF];
    be.extend("1,2\n".chars().flat_map(|c| (c as u32).to_be_bytes()));
    let path = dir.file("u32.csv", &be);
    let msg = file_error(read(&path, &ReadOptions::default()).unwrap_err(), &path);
    assert!(msg.starts_with("file is UTF-32 (big-endian);"), "{msg}");
}

#[test]
fn utf8_bom_with_crlf_and_header() {
    let r = read_str(
        "\u{feff}userId,movieId,rating,timestamp\r\n1,10,4.0,5\r\n2,20,3.5,6\r\n",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.pairs(), pairs(&[("1", "10"), ("2", "20")]));
    assert_eq!(r.rows.lines, vec![2, 3]);
    // Without stripping, the first header name would carry the BOM and not match.
    let opts = ReadOptions {
        rating: Some(Column::Name("rating".into())),
        ..names("userId", "movieId")
    };
    let r = read_str("\u{feff}userId,movieId,rating\n1,10,4\n", &opts).unwrap();
    assert_eq!(r.rows.ratings, Some(vec![4.0]));
}

#[test]
fn latin1_is_not_mistaken_for_utf16() {
    // High bytes everywhere, but no NUL: single-byte text.
    let bytes: Vec<u8> = b"\xe9\xe8\xe0,\xfc\xf6\n\xe7,\xf1\n".to_vec();
    let r = read_str(&bytes, &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("éèà", "üö"), ("ç", "ñ")]));
}

#[test]
fn nuls_on_both_sides_are_not_called_utf16() {
    // Stray NULs at even and odd offsets (a damaged or binary file) are not UTF-16's pattern.
    let r = read_str(b"a\0\0b,x\n\0c,\0y\n".as_slice(), &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("a\0\0b", "x"), ("\0c", "\0y")]));
}

#[test]
fn header_of_names_over_string_ids() {
    let cases = [
        ("user,item\nu1,i1\nu2,i1\n", ","),
        ("user_id,item_id\nu1,i1\nu2,i1\n", ","),
        ("userID\tartistID\nu1\ti1\nu2\ti1\n", "\t"),
        ("customer;product\nu1;i1\nu2;i1\n", ";"),
        ("User Id|Movie Id\nu1|i1\nu2|i1\n", "|"),
        ("book-id,reviewer\nu1,i1\nu2,i1\n", ","),
        ("\"member\",\"song\"\r\nu1,i1\r\nu2,i1\r\n", ","),
    ];
    for (content, d) in cases {
        let r = read_str(content, &ReadOptions::default()).unwrap();
        assert_eq!(
            r.pairs(),
            pairs(&[("u1", "i1"), ("u2", "i1")]),
            "{d:?} {content:?}"
        );
        assert_eq!(r.rows.lines, vec![2, 3], "{content:?}");
        assert_eq!(r.users.len(), 2, "the header is not an id: {content:?}");
    }
}

#[test]
fn header_of_names_with_indexed_columns() {
    let opts = ReadOptions {
        user: Some(Column::Index(2)),
        item: Some(Column::Index(1)),
        ..Default::default()
    };
    let r = read_str("session,product,customer\ns1,p1,c1\ns2,p2,c1\n", &opts).unwrap();
    assert_eq!(r.pairs(), pairs(&[("c1", "p1"), ("c1", "p2")]));
}

#[test]
fn string_ids_that_are_not_names_stay_data() {
    for content in [
        // No column word and no id suffix.
        "alice,matrix\nbob,matrix\n",
        "squid,u17\nx,y\n",
        "a_b,c\nd,e\n",
        // A word, but the item is a number: a data row (a numeric header would be rule 1).
        "user,10\nu2,20\n",
    ] {
        let r = read_str(content, &ReadOptions::default()).unwrap();
        assert_eq!(r.rows.len(), 2, "{content:?}");
        assert_eq!(r.rows.lines, vec![1, 2], "{content:?}");
    }
}

#[test]
fn words_that_recur_are_ids_not_a_header() {
    // "user" is a real user here: it has a second row, which a header never has.
    let r = read_str("user,book\nuser,film\nann,book\n", &ReadOptions::default()).unwrap();
    assert_eq!(
        r.pairs(),
        pairs(&[("user", "book"), ("user", "film"), ("ann", "book")])
    );
    // The same for the item column.
    let r = read_str("u1,item\nu2,item\n", &ReadOptions::default()).unwrap();
    assert_eq!(r.pairs(), pairs(&[("u1", "item"), ("u2", "item")]));
}

#[test]
fn header_alone_is_not_an_interaction() {
    let dir = TempDir::new("hdr-alone");
    let path = dir.file("h.csv", "user,item\n");
    let msg = file_error(read(&path, &ReadOptions::default()).unwrap_err(), &path);
    assert_eq!(msg, "no data rows after the header");
}

#[test]
fn rows_read_ahead_for_the_header_are_all_kept() {
    // More rows than the look-ahead, none recurring: every one is loaded once, in order.
    let mut content = String::from("userId,itemId\n");
    for k in 0..1500 {
        content.push_str(&format!("u{k},i{k}\n"));
    }
    let r = read_str(&content, &ReadOptions::default()).unwrap();
    assert_eq!(r.rows.len(), 1500);
    assert_eq!(r.rows.lines.first(), Some(&2));
    assert_eq!(r.rows.lines.last(), Some(&1501));
    assert_eq!(r.users.id(1499), Some("u1499"));
    assert_eq!(r.rows.users, (0..1500).collect::<Vec<u32>>());
}
