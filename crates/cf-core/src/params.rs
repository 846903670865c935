//! Model parameters described once: name, kind, bounds, default and a one-line doc.
//!
//! Each model lists its parameters in a `&'static [ParamSpec]`. Everything else is derived
//! from that list: the typed params' `Default`, their checks (`Params::check`), the binding's
//! option parsing (`resolve`, unknown keys with a "did you mean"), the description the
//! binding exposes to TypeScript (config validator, API defaults, `--help`, README table).
//! Raw params become checked ones before a fit (`Checked<P>`, the `ParamGuard` idea of
//! linfa): a model's constructor takes anything that converts into `Checked<P>`, so an
//! unchecked value is checked on the way in and never reaches the algorithm.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Deref;

use crate::error::{Error, Result};

/// A parameter value as it crosses from JS, YAML or JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
    Str(Cow<'static, str>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Num(v) => write!(f, "{}", crate::args::show(*v)),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// What a parameter accepts. Integers cross as numbers and must be whole; floats must be
/// finite. Bounds are inclusive unless marked exclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        min_exclusive: bool,
        max: f64,
    },
    Bool,
    Choice(&'static [&'static str]),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// snake_case, as in YAML and artifacts; the JS API takes the camelCase form too.
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    pub doc: &'static str,
}

/// A default that can live in a `static` (`Value` holds a `Cow`, which cannot be built in
/// a const context from a `String`, only from a `&'static str`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    Num(f64),
    Bool(bool),
    Str(&'static str),
}

impl Default {
    pub fn value(self) -> Value {
        match self {
            Default::Num(v) => Value::Num(v),
            Default::Bool(v) => Value::Bool(v),
            Default::Str(s) => Value::Str(Cow::Borrowed(s)),
        }
    }
}

/// Resolved parameters: every name of the spec, checked, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Values(BTreeMap<&'static str, Value>);

impl Values {
    fn get(&self, name: &str) -> &Value {
        self.0
            .get(name)
            .unwrap_or_else(|| unreachable!("parameter {name} is not in the spec"))
    }

    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            Value::Num(v) => *v as i64,
            v => unreachable!("{name} = {v} is not a number"),
        }
    }

    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Value::Num(v) => *v,
            v => unreachable!("{name} = {v} is not a number"),
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            Value::Bool(v) => *v,
            v => unreachable!("{name} = {v} is not a boolean"),
        }
    }

    pub fn choice(&self, name: &str) -> &str {
        match self.get(name) {
            Value::Str(s) => s,
            v => unreachable!("{name} = {v} is not a string"),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// `cg_steps` -> `cgSteps`: the JS API's spelling of a parameter.
pub fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut up = false;
    for c in name.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j + 1] + 1)
                    .min(cur[j] + 1)
                    .min(prev[j] + usize::from(ca != *cb)),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word` when it is close enough to be a typo (the same rule as
/// the YAML validator's: at most a third of the word's length, at least 1).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&w, &c.to_lowercase()), c))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= (word.chars().count() / 3).max(1))
        .map(|(_, c)| c)
}

/// The error for an option that is not one of `known`, with a hint.
pub fn unknown_key(key: &str, known: &[String]) -> Error {
    let hint = match closest(key, known.iter().map(String::as_str)) {
        Some(c) => format!("did you mean {c}?"),
        None if known.is_empty() => "this takes no options".to_string(),
        None => format!("expected one of: {}", known.join(", ")),
    };
    Error::param(key, format!("is not a known option ({hint})"))
}

fn describe_bounds(kind: &Kind) -> String {
    match *kind {
        Kind::Int { min, max } if max == i64::MAX => format!("an integer >= {min}"),
        Kind::Int { min, max } => format!("an integer in {min}..={max}"),
        Kind::Float {
            min,
            min_exclusive,
            max,
        } => {
            let low = if min_exclusive { ">" } else { ">=" };
            if max.is_finite() {
                format!("a finite number {low} {min} and <= {max}")
            } else {
                format!("a finite number {low} {min}")
            }
        }
        Kind::Bool => "true or false".to_string(),
        Kind::Choice(values) => format!(
            "one of {}",
            values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Check one value against its spec; `key` is the name as the caller spelled it.
fn check_value(spec: &ParamSpec, key: &str, v: &Value) -> Result<Value> {
    let ok = match (&spec.kind, v) {
        (Kind::Int { min, max }, Value::Num(x)) => {
            x.is_finite() && x.fract() == 0.0 && *x >= *min as f64 && *x <= *max as f64
        }
        (
            Kind::Float {
                min,
                min_exclusive,
                max,
            },
            Value::Num(x),
        ) => {
            x.is_finite()
                && (if *min_exclusive {
                    *x > *min
                } else {
                    *x >= *min
                })
                && *x <= *max
        }
        (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Choice(values), Value::Str(s)) => values.contains(&s.as_ref()),
        _ => false,
    };
    if ok {
        return Ok(v.clone());
    }
    let hint = match (&spec.kind, v) {
        (Kind::Choice(values), Value::Str(s)) => closest(s, values.iter().copied())
            .map(|c| format!("; did you mean {c:?}?"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    Err(Error::param(
        key,
        format!("must be {} (got {v}{hint})", describe_bounds(&spec.kind)),
    ))
}

/// Check raw `(key, value)` pairs against `spec`: every key must name a parameter (in
/// snake_case or camelCase), at most once, and every value must fit its kind and bounds.
/// Absent parameters take their defaults. Errors name the key as the caller spelled it.
pub fn resolve<'k>(
    spec: &'static [ParamSpec],
    raw: impl IntoIterator<Item = (&'k str, Value)>,
) -> Result<Values> {
    let mut given: BTreeMap<&'static str, Value> = BTreeMap::new();
    for (key, v) in raw {
        let Some(p) = spec.iter().find(|p| p.name == key || camel(p.name) == key) else {
            let camel_case = key.chars().any(|c| c.is_ascii_uppercase());
            let known: Vec<String> = spec
                .iter()
                .map(|p| {
                    if camel_case {
                        camel(p.name)
                    } else {
                        p.name.to_string()
                    }
                })
                .collect();
            return Err(unknown_key(key, &known));
        };
        if given.contains_key(p.name) {
            return Err(Error::param(
                key,
                "is given twice (snake_case and camelCase)",
            ));
        }
        given.insert(p.name, check_value(p, key, &v)?);
    }
    Ok(Values(
        spec.iter()
            .map(|p| {
                let v = given.remove(p.name).unwrap_or_else(|| p.default.value());
                (p.name, v)
            })
            .collect(),
    ))
}

/// Typed parameters of one model, tied to its spec.
pub trait Params: Sized + Clone {
    /// The parameter list: the one place names, kinds, bounds, defaults and docs live.
    fn spec() -> &'static [ParamSpec];
    /// Build from resolved values (every name present and within bounds).
    fn from_values(v: &Values) -> Self;
    /// The inverse of `from_values`, snake_case names.
    fn to_values(&self) -> Vec<(&'static str, Value)>;

    /// Checks no single bound can express (none yet for the built-in models).
    fn check_across(&self) -> Result<()> {
        Ok(())
    }

    /// The spec's defaults.
    fn defaults() -> Self {
        Self::from_values(&resolve(Self::spec(), []).expect("defaults satisfy their own spec"))
    }

    /// From raw pairs (an options object, a YAML mapping, a saved model.json).
    fn from_raw<'k>(raw: impl IntoIterator<Item = (&'k str, Value)>) -> Result<Checked<Self>> {
        let p = Self::from_values(&resolve(Self::spec(), raw)?);
        p.check_across()?;
        Ok(Checked(p))
    }

    /// The same bounds as `from_raw`, for params built as a Rust struct.
    fn check(self) -> Result<Checked<Self>> {
        let values = self.to_values();
        Self::from_raw(values.iter().map(|(k, v)| (*k, v.clone())))?;
        Ok(Checked(self))
    }
}

/// Parameters that passed `Params::check`; the only form a model is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked<P>(P);

impl<P> Deref for Checked<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

impl<P> Checked<P> {
    pub fn into_inner(self) -> P {
        self.0
    }
}

/// Every model's params convert into their checked form (so a constructor can take either).
pub trait IntoChecked<P> {
    fn into_checked(self) -> Result<Checked<P>>;
}

impl<P: Params> IntoChecked<P> for P {
    fn into_checked(self) -> Result<Checked<P>> {
        self.check()
    }
}

impl<P> IntoChecked<P> for Checked<P> {
    fn into_checked(self) -> Result<Checked<P>> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPEC: &[ParamSpec] = &[
        ParamSpec {
            name: "factors",
            kind: Kind::Int { min: 1, max: 4096 },
            default: Default::Num(64.0),
            doc: "",
        },
        ParamSpec {
            name: "cg_steps",
            kind: Kind::Int {
                min: 1,
                max: i64::MAX,
            },
            default: Default::Num(3.0),
            doc: "",
        },
        ParamSpec {
            name: "alpha",
            kind: Kind::Float {
                min: 0.0,
                min_exclusive: true,
                max: f64::INFINITY,
            },
            default: Default::Num(1.0),
            doc: "",
        },
        ParamSpec {
            name: "solver",
            kind: Kind::Choice(&["cg", "cholesky"]),
            default: Default::Str("cg"),
            doc: "",
        },
    ];

    fn err(raw: Vec<(&str, Value)>) -> String {
        resolve(SPEC, raw).unwrap_err().to_string()
    }

    #[test]
    fn fills_defaults_and_takes_both_spellings() {
        let v = resolve(SPEC, [("cgSteps", Value::Num(5.0))]).unwrap();
        assert_eq!(v.int("cg_steps"), 5);
        assert_eq!(v.int("factors"), 64);
        assert_eq!(v.choice("solver"), "cg");
        assert_eq!(v.float("alpha"), 1.0);
    }

    #[test]
    fn rejects_with_the_callers_name_and_value() {
        assert_eq!(
            err(vec![("factor", Value::Num(8.0))]),
            "factor: is not a known option (did you mean factors?)"
        );
        assert_eq!(
            err(vec![("cgStep", Value::Num(8.0))]),
            "cgStep: is not a known option (did you mean cgSteps?)"
        );
        assert!(err(vec![("zzz", Value::Num(8.0))]).contains("expected one of: factors, cg_steps"));
        assert_eq!(
            err(vec![("factors", Value::Num(-1.0))]),
            "factors: must be an integer in 1..=4096 (got -1)"
        );
        assert_eq!(
            err(vec![("factors", Value::Num(2.5))]),
            "factors: must be an integer in 1..=4096 (got 2.5)"
        );
        assert!(err(vec![("factors", Value::Num(4097.0))]).contains("got 4097"));
        assert!(err(vec![("cg_steps", Value::Num(f64::NAN))]).contains("got NaN"));
        assert!(err(vec![("alpha", Value::Num(0.0))]).contains("a finite number > 0"));
        assert!(err(vec![("alpha", Value::Num(f64::INFINITY))]).contains("got Infinity"));
        assert!(err(vec![("alpha", Value::Bool(true))]).contains("got true"));
        assert_eq!(
            err(vec![("solver", Value::Str("chol".into()))]),
            "solver: must be one of \"cg\", \"cholesky\" (got \"chol\")"
        );
        assert!(err(vec![("solver", Value::Str("cgg".into()))]).contains("did you mean \"cg\"?"));
        assert!(err(vec![
            ("cg_steps", Value::Num(2.0)),
            ("cgSteps", Value::Num(2.0))
        ])
        .contains("given twice"));
    }

    #[test]
    fn camel_case_names() {
        assert_eq!(camel("cg_steps"), "cgSteps");
        assert_eq!(camel("scale_regularization"), "scaleRegularization");
        assert_eq!(camel("alpha"), "alpha");
    }
}
