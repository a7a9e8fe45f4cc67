//! The suite's data lookup (`prover_tests::test_data`) as a fresh clone sees it: without the shared reference folder, the data found in `$PROVER_TEST_DATA` or in what the set-up fetched, else a skip.

use prover_tests::test_data::{find_in, roots};

#[test]
fn the_lookup_falls_back_from_shared_to_the_test_data_dir_and_then_to_nothing() {
    let hidden = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let file = "fixtures/repl-transcripts/test/readme.in";
    std::fs::create_dir_all(data.path().join("fixtures/repl-transcripts/test")).unwrap();
    std::fs::write(data.path().join(file), "{}\n").unwrap();
    // The shared folder hidden (an empty stand-in), the data only in the second root.
    let roots_without_shared = [hidden.path().to_path_buf(), data.path().to_path_buf()];
    assert_eq!(
        find_in(&roots_without_shared, file),
        Some(data.path().join(file))
    );
    // Directories are found too (the transcript tests take the folder).
    assert!(find_in(&roots_without_shared, "fixtures/repl-transcripts").is_some());
    // Nothing anywhere: `None`, and the callers print their skip line.
    assert_eq!(find_in(&[hidden.path().to_path_buf()], file), None);
    // The default roots end with what the set-up fetches, inside the checkout.
    assert!(roots().last().unwrap().ends_with(".lake/test-data"));
}
