use super::*;
use serde_json::json;

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn tag_keys_and_names_fold_and_every_other_value_stays_as_aws_reports_it() {
    let attrs = json!({
        "name": "/Security/aUDIT-Trail",
        "cluster": "Prod-Cluster",
        "status": "DRAINING",
        "state": "running",
        "protected": true,
    });
    let (attrs, tags) = folded_resource(
        attrs.as_object().unwrap(),
        &tags(&[("ENVIRONMENT", "staging"), ("Owner", "Team A")]),
    )
    .unwrap();
    assert_eq!(tags["environment"], "staging");
    assert_eq!(tags["owner"], "Team A", "tag values stay exact");
    assert_eq!(attrs["name"], "/security/audit-trail");
    assert_eq!(attrs["cluster"], "prod-cluster");
    assert_eq!(attrs["status"], "DRAINING", "AWS's own values stay exact");
    assert_eq!(attrs["state"], "running");
    assert_eq!(attrs["protected"], true);
}

#[test]
fn names_are_not_trimmed_but_keys_are() {
    assert_eq!(fold_name(" Audit "), " audit ");
    assert_eq!(fold_tag_key(" Audit "), "audit");
    assert_eq!(fold_name("\u{ff21}UDIT"), "audit", "compatibility forms");
}

#[test]
fn keys_that_fold_to_one_are_refused_as_ambiguous() {
    let clashes = folded_resource(
        &Map::new(),
        &tags(&[("Environment", "staging"), ("environment", "production")]),
    )
    .unwrap_err();
    assert_eq!(clashes, ["`Environment` and `environment`"]);

    // Padding and compatibility forms fold to the same key, so they are twins too.
    for other in ["Environment ", "\u{ff25}nvironment"] {
        let twins = tags(&[("Environment", "staging"), (other, "production")]);
        assert!(folded_resource(&Map::new(), &twins).is_err(), "{other:?}");
    }
    let (_, folded) =
        folded_resource(&Map::new(), &tags(&[("\u{ff23}OMPLIANCE ", "hold")])).unwrap();
    assert!(folded.contains_key("compliance"));
}

#[test]
fn what_folding_can_produce_is_what_it_leaves_unchanged() {
    assert!(is_folded_tag_key("donottouch"));
    assert!(!is_folded_tag_key("DoNotTouch"));
    assert!(!is_folded_tag_key(" environment"));
    assert!(is_folded_name("/aws/cloudtrail"));
    assert!(!is_folded_name("DRAINING"));
    assert!(is_folded_name(" padded "), "names are not trimmed");
    assert!(name_pattern_can_match(["audit"]));
    assert!(name_pattern_can_match(["/aws/", " x"]));
    assert!(!name_pattern_can_match(["Audit"]));
    assert!(!name_pattern_can_match(["audit", "\u{fb01}"]), "a ligature");
}

/// The claims above rest on folding being idempotent and on every character of a folded text
/// being one folding leaves unchanged: checked for every character of the planes that hold
/// case or compatibility mappings (4 to 13 are unassigned, 15 and 16 private use).
#[test]
fn folding_is_idempotent_and_its_output_is_made_of_folded_characters() {
    let planes = (0..0x4_0000_u32).chain(0xe_0000..0xf_0000);
    for c in planes.filter_map(char::from_u32) {
        let one = c.to_string();
        for fold in [fold_name as fn(&str) -> String, fold_tag_key] {
            let folded = fold(&one);
            assert_eq!(fold(&folded), folded, "{c:?}");
            for d in folded.chars() {
                assert!(is_folded_name(&d.to_string()), "{c:?} folds to {d:?}");
            }
        }
    }
}
