//! The check of `datapackage.json`: it describes exactly the export's CSV files, each with
//! the columns the file has. What the values may be is the reference validator's job
//! (`frictionless validate`); this check needs nothing but certanon.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::{Failures, SMALL_FILE_LIMIT, read_small};
use crate::outputs::schema::DATA_PACKAGE;

/// The part of a data package the check reads.
#[derive(Deserialize)]
struct Package {
    resources: Vec<PackageResource>,
}

#[derive(Deserialize)]
struct PackageResource {
    path: String,
    schema: PackageSchema,
}

#[derive(Deserialize)]
struct PackageSchema {
    fields: Vec<PackageField>,
}

#[derive(Deserialize)]
struct PackageField {
    name: String,
}

/// `headers`: the header row of every CSV file that could be read.
pub(super) fn check(
    dir: &Path,
    files: &BTreeSet<String>,
    headers: &BTreeMap<&str, Vec<String>>,
    out: &mut Failures,
) {
    if !files.contains(DATA_PACKAGE) {
        out.push(format!("{DATA_PACKAGE} is missing"));
        return;
    }
    let package = read_small(&dir.join(DATA_PACKAGE), SMALL_FILE_LIMIT)
        .and_then(|bytes| serde_json::from_slice::<Package>(&bytes).ok());
    let Some(package) = package else {
        out.push(format!(
            "{DATA_PACKAGE}: unreadable, too large, or not a data package with resources"
        ));
        return;
    };
    let mut listed = BTreeSet::new();
    for resource in &package.resources {
        let path = resource.path.as_str();
        if !listed.insert(path) {
            out.push(format!("{DATA_PACKAGE}: lists {path} twice"));
        } else if !path.ends_with(".csv") || !files.contains(path) {
            out.push(format!(
                "{DATA_PACKAGE}: lists {path}, which is not a CSV file of the export"
            ));
        } else if headers
            .get(path)
            .is_some_and(|header| resource.schema.fields.iter().map(|f| &f.name).ne(header))
        {
            out.push(format!(
                "{DATA_PACKAGE}: the fields of {path} are not the file's columns"
            ));
        }
    }
    for name in files.iter().filter(|n| n.ends_with(".csv")) {
        if !listed.contains(name.as_str()) {
            out.push(format!("{DATA_PACKAGE}: does not list {name}"));
        }
    }
}
