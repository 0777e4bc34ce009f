//! Example-based tests of parsing, matching and canonical text.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts that `text` matches every map in `yes` and none in `no`,
/// both as written and after a trip through its canonical text.
#[track_caller]
fn check(text: &str, yes: &[&[(&str, &str)]], no: &[&[(&str, &str)]]) {
    let sel = Selector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let canon = Selector::parse(&sel.to_string()).unwrap();
    assert_eq!(canon, sel, "round trip of {text:?} via {sel}");
    for l in yes {
        assert!(sel.matches(&labels(l)), "{text:?} should match {l:?}");
    }
    for l in no {
        assert!(!sel.matches(&labels(l)), "{text:?} should not match {l:?}");
    }
}

#[test]
fn all_global_and_empty() {
    let any: &[&[(&str, &str)]] = &[&[], &[("a", "b")]];
    for text in [
        "",
        " ",
        "\t",
        "all()",
        " all( ) ",
        "global()",
        " global()",
        "(all())",
    ] {
        check(text, any, &[]);
    }
    assert_eq!(Selector::parse("").unwrap(), Selector::all());
    assert_eq!(Selector::parse("  ").unwrap(), Selector::default());
    assert_eq!(Selector::all().to_string(), "all()");
    assert_ne!(Selector::parse("global()").unwrap(), Selector::all());
}

#[test]
fn has_and_not_has() {
    check(
        "has(a)",
        &[&[("a", "")], &[("a", "b")]],
        &[&[], &[("b", "a")]],
    );
    check("has( a )", &[&[("a", "x")]], &[&[]]);
    check("!has(a)", &[&[], &[("b", "b")]], &[&[("a", "b")]]);
    check("! has(a)", &[&[]], &[&[("a", "b")]]);
    check("!!has(a)", &[&[("a", "b")]], &[&[]]);
    check("!! ! has(a)", &[&[]], &[&[("a", "b")]]);
}

#[test]
fn equality_and_inequality() {
    check(
        "a == 'b'",
        &[&[("a", "b")], &[("a", "b"), ("c", "d")]],
        &[&[], &[("a", "c")]],
    );
    check("a==\"b\"", &[&[("a", "b")]], &[&[("a", "B")]]);
    check(
        "a != 'b'",
        &[&[], &[("a", "c")], &[("c", "b")]],
        &[&[("a", "b")]],
    );
    check("a!='b'", &[&[]], &[&[("a", "b")]]);
    check("!a == 'b'", &[&[], &[("a", "c")]], &[&[("a", "b")]]);
    check("a == ''", &[&[("a", "")]], &[&[], &[("a", "x")]]);
}

#[test]
fn set_membership() {
    let l: &[&[(&str, &str)]] = &[&[("a", "c")], &[("a", "\"")], &[("a", "'")]];
    check(r#"a in {"'", '"', "c"}"#, l, &[&[], &[("a", "e")]]);
    check(r#"a not in {"'", '"', "c"}"#, &[&[], &[("a", "e")]], l);
    check("a in {}", &[], &[&[], &[("a", "")]]);
    check("a not in {}", &[&[], &[("a", "")]], &[]);
    check("a in{'x',}", &[&[("a", "x")]], &[&[("a", "")]]);
    check("a notin {'x'}", &[&[("a", "y")]], &[&[("a", "x")]]);
}

#[test]
fn substring_operators() {
    check(
        "a contains 'a'",
        &[&[("a", "bab")], &[("a", "a")]],
        &[&[], &[("a", "b")], &[("b", "a")]],
    );
    check(
        "a starts with 'a'",
        &[&[("a", "abb")]],
        &[&[], &[("a", "baa")]],
    );
    check(
        "a ends with 'a'",
        &[&[("a", "bba")]],
        &[&[], &[("a", "aab")]],
    );
    check("a startswith ''", &[&[("a", "")]], &[&[]]);
    check("a ends\twith \"\"", &[&[("a", "x")]], &[&[]]);
    check("a contains ''", &[&[("a", "")]], &[&[]]);
}

#[test]
fn precedence_and_grouping() {
    // `&&` binds tighter: a || (b && c).
    let text = "has(a) || has(b) && has(c)";
    check(
        text,
        &[&[("a", "")], &[("b", ""), ("c", "")]],
        &[&[("b", "")], &[("c", "")]],
    );
    check(
        "(has(a) || has(b)) && has(c)",
        &[&[("a", ""), ("c", "")]],
        &[&[("a", "")]],
    );
    check("!(has(a) || has(b))", &[&[]], &[&[("a", "")], &[("b", "")]]);
    check(
        "!(!has(a) || has(b))",
        &[&[("a", "a")]],
        &[&[], &[("a", ""), ("b", "")]],
    );
    check(
        "has(a)&&!has(b)||has(c)",
        &[&[("a", "")], &[("c", "")]],
        &[&[("a", ""), ("b", "")]],
    );
}

#[test]
fn calico_documentation_examples() {
    check(
        "has(route-reflector)",
        &[&[("route-reflector", "true")]],
        &[&[]],
    );
    check(
        "route-reflector == 'true'",
        &[&[("route-reflector", "true")]],
        &[&[("route-reflector", "false")]],
    );
    check(
        "rack in {'rack-1', 'rack-2'}",
        &[&[("rack", "rack-2")]],
        &[&[("rack", "rack-3")], &[]],
    );
    check(
        "!has(routeReflector)",
        &[&[("route-reflector", "")]],
        &[&[("routeReflector", "")]],
    );
    let host: &[(&str, &str)] = &[("kubernetes.io/hostname", "node-1")];
    check(
        "kubernetes.io/hostname == 'node-1'",
        &[host],
        &[&[("kubernetes.io/hostname", "node-2")]],
    );
}

#[test]
fn keyword_like_label_names() {
    check(
        "in == 'x' && has(contains)",
        &[&[("in", "x"), ("contains", "")]],
        &[&[("in", "x")]],
    );
    check("all == 'x'", &[&[("all", "x")]], &[&[]]);
    check("has(has)", &[&[("has", "")]], &[&[]]);
}

#[test]
fn canonical_text() {
    let cases = [
        ("", "all()"),
        (" (all() )", "all()"),
        ("! (has( b)||! has(a ))", "!(has(b) || !has(a))"),
        (
            "! (a == \"b\"&&! c != \"d\")",
            "!(a == \"b\" && !c != \"d\")",
        ),
        ("has(a) && b == 'x'", "has(a) && b == \"x\""),
        ("a == '\"'", "a == '\"'"),
        ("a contains \"'\"", "a contains \"'\""),
        ("a startswith '\"'", "a starts with '\"'"),
        ("a!='\"'", "a != '\"'"),
        (
            "a in {\"z\", \"z\", \"x\", 'a'}",
            "a in {\"a\", \"x\", \"z\"}",
        ),
        ("a not in {}", "a not in {}"),
        (
            "k == 'v' && has(t) || all()",
            "(k == \"v\" && has(t)) || all()",
        ),
        (
            "(has(a) || has(b)) || has(c)",
            "(has(a) || has(b)) || has(c)",
        ),
        ("!(k == 'v')", "!k == \"v\""),
    ];
    for (input, want) in cases {
        let sel: Selector = input.parse().unwrap();
        assert_eq!(sel.to_string(), want, "canonical text of {input:?}");
        assert_eq!(Selector::parse(want).unwrap(), sel);
    }
}

#[test]
fn error_display() {
    let e = Selector::parse("a == 'b' && c ==").unwrap_err();
    assert_eq!(e.position, 16);
    assert_eq!(
        e.to_string(),
        "at position 16: expected a quoted value after '==', found end of input"
    );
    let e = "x in {'a', }}".parse::<Selector>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "at position 12: expected '&&', '||' or end of input, found '}'"
    );
}

#[test]
fn calico_bad_selectors_are_rejected() {
    for text in [
        "b == b",
        "b contains b",
        "b starts with b",
        "b ends with b",
        "'b1' == b",
        "b",
        "a b",
        "!",
        "foo == \"bar\" &",
        "foo == \"bar\" |",
        "foo != ||",
        "foo in {\"\", ||",
        "foo in \"\"",
        "\"FOO",
        "\"FOO'",
        "'FOO",
        "(",
        "(a == \"foo\"",
        ")",
        "()",
        "%",
        "a == \"b\" && %",
        "a == \"b\" || %",
        "a ",
        "has(foo) &&",
        "has (a)",
        "all ()",
    ] {
        assert!(
            Selector::parse(text).is_err(),
            "{text:?} should be rejected"
        );
    }
}
