//! The full plan of every example, byte for byte. A change to any generated document shows up
//! here as a diff to review; `UPDATE_GOLDEN=1 cargo test --test golden_plans` rewrites the files
//! after a deliberate change.

mod common;

#[test]
fn every_example_plans_exactly_as_recorded() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut checked = 0;
    for example in common::examples::all() {
        let stem = example
            .path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let plan = common::plan(&example.text).unwrap();
        let actual = serde_json::to_string_pretty(&plan).unwrap() + "\n";
        let golden = common::repo_path("tests/golden").join(format!("{stem}.json"));
        if update {
            std::fs::write(&golden, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!("{} is missing; run with UPDATE_GOLDEN=1", golden.display())
        });
        assert!(
            actual == expected,
            "{stem}: the plan differs from {}; review and run with UPDATE_GOLDEN=1",
            golden.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 5,
        "expected the five required examples, checked {checked}"
    );
}
