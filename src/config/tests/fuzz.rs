//! The loader on arbitrary and on damaged configuration text: a configuration error (or a
//! configuration), never a panic.

use proptest::prelude::*;

use super::*;
use crate::error::exit;

fn loads_or_refuses(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = Config::from_str(text, Path::new(PATH)) {
        prop_assert!([exit::CONFIG, exit::USAGE].contains(&e.exit_code()), "{e}");
        prop_assert!(!e.to_string().contains('\n'), "{e}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text(text in "\\PC{0,200}") {
        loads_or_refuses(&text)?;
    }

    #[test]
    fn toml_like_text(text in "(\\[[a-z_.]{0,12}\\]\n|[a-z_]{1,12} = (\"[^\"\n]{0,20}\"|[0-9.e-]{1,8}|true|\\[\\]|\\{\\})\n){0,12}") {
        loads_or_refuses(&text)?;
    }

    /// The documented example with one stretch replaced: every key kept, a value broken.
    #[test]
    fn the_example_damaged(start in 0usize..EXAMPLE.len(), len in 0usize..40, with in "\\PC{0,12}") {
        let start = (0..=start).rev().find(|&i| EXAMPLE.is_char_boundary(i)).unwrap_or(0);
        let end = (start + len..=EXAMPLE.len())
            .find(|&i| EXAMPLE.is_char_boundary(i))
            .unwrap_or(EXAMPLE.len());
        let text = format!("{}{with}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
        loads_or_refuses(&text)?;
    }
}
