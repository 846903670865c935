use crate::data::ids::IdMap;

#[test]
fn intern_get_id() {
    let mut m = IdMap::new();
    assert!(m.is_empty());
    assert_eq!(m.intern("b"), 0);
    assert_eq!(m.intern("a"), 1);
    assert_eq!(m.intern("b"), 0);
    assert_eq!(m.intern(""), 2);
    assert_eq!(m.len(), 3);
    assert_eq!(m.get("a"), Some(1));
    assert_eq!(m.get("c"), None);
    assert_eq!(m.id(0), Some("b"));
    assert_eq!(m.id(2), Some(""));
    assert_eq!(m.id(3), None);
    assert_eq!(m.ids().collect::<Vec<_>>(), ["b", "a", ""]);
}

#[test]
fn compact_renumbers_in_order() {
    let m = IdMap::from_ids(["u0", "u1", "u2", "u3"]).unwrap();
    let (c, remap) = m.compact(&[false, true, false, true]);
    assert_eq!(c.ids().collect::<Vec<_>>(), ["u1", "u3"]);
    assert_eq!(remap, vec![u32::MAX, 0, u32::MAX, 1]);
    assert_eq!(c.get("u3"), Some(1));
    assert_eq!(c.get("u0"), None);
    let (c, remap) = m.compact(&[true; 4]);
    assert_eq!(c.ids().collect::<Vec<_>>(), ["u0", "u1", "u2", "u3"]);
    assert_eq!(remap, vec![0, 1, 2, 3]);
}

#[test]
fn from_ids_rejects_duplicates() {
    let m = IdMap::from_ids(vec![String::from("x"), String::from("y")]).unwrap();
    assert_eq!((m.get("x"), m.get("y")), (Some(0), Some(1)));
    assert_eq!(
        IdMap::from_ids(["x", "y", "x"]).unwrap_err(),
        "duplicate id \"x\""
    );
}
