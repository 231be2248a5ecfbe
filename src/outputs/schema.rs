//! The typed description of every CSV file an export publishes: its columns' names, types,
//! meanings and allowed values, and its key. The data dictionaries, the header rows and
//! `datapackage.json` (a Frictionless Data Package) are all written from it, so they cannot
//! disagree.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::outputs::manifest::{FileEntry, Manifest};
use crate::transform::generalize::Domain;

pub(crate) const DATA_PACKAGE: &str = "datapackage.json";

/// A column's type, as Table Schema names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    String,
    Integer,
}

/// The values a column may hold.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Values {
    /// Any whole number from 0 (an integer column).
    Count,
    /// One of a fixed list.
    OneOf(Vec<String>),
    /// Text matching a regular expression whole; `shape` says the same in words.
    Pattern { regex: String, shape: String },
}

impl From<Domain> for Values {
    fn from(domain: Domain) -> Values {
        match domain {
            Domain::OneOf(values) => Values::OneOf(values),
            Domain::Pattern { regex, shape } => Values::Pattern {
                regex: regex.to_owned(),
                shape: shape.to_owned(),
            },
        }
    }
}

impl Values {
    /// These values and `extra` (text columns only: a count is a number).
    pub(crate) fn or(self, extra: &str) -> Values {
        match self {
            Values::Count => Values::Count,
            Values::OneOf(mut values) => {
                values.push(extra.to_owned());
                Values::OneOf(values)
            }
            Values::Pattern { regex, shape } => Values::Pattern {
                regex: format!("({regex}|{extra})"),
                shape: format!("{shape}, or `{extra}`"),
            },
        }
    }
}

/// One column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) values: Values,
    /// Whether the column is never empty; an empty field is a missing value.
    pub(crate) required: bool,
}

impl Field {
    pub(crate) fn new(name: &str, description: impl Into<String>, values: Values) -> Field {
        Field {
            name: name.to_owned(),
            description: description.into(),
            values,
            required: true,
        }
    }

    /// The same column, empty where the value is missing.
    pub(crate) fn optional(self) -> Field {
        Field {
            required: false,
            ..self
        }
    }

    pub(crate) fn kind(&self) -> Type {
        match self.values {
            Values::Count => Type::Integer,
            Values::OneOf(_) | Values::Pattern { .. } => Type::String,
        }
    }

    /// The type and values in words, for a data dictionary.
    pub(crate) fn type_text(&self) -> String {
        let values = match &self.values {
            Values::Count => "integer ≥ 0".to_owned(),
            Values::OneOf(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                if quoted.len() > 12 {
                    let tail = quoted.len() - 4;
                    format!(
                        "text: {}, {} … {}",
                        quoted[0],
                        quoted[1],
                        quoted[tail..].join(", ")
                    )
                } else {
                    format!("text: {}", quoted.join(", "))
                }
            }
            Values::Pattern { shape, .. } => format!("text: {shape}"),
        };
        if self.required {
            values
        } else {
            format!("{values}; may be empty")
        }
    }

    fn to_json(&self) -> Value {
        let mut field = Map::new();
        field.insert("name".into(), json!(self.name));
        let kind = match self.kind() {
            Type::String => "string",
            Type::Integer => "integer",
        };
        field.insert("type".into(), json!(kind));
        field.insert("description".into(), json!(self.description));
        let mut constraints = Map::new();
        if self.required {
            constraints.insert("required".into(), json!(true));
        }
        match &self.values {
            Values::Count => {
                constraints.insert("minimum".into(), json!(0));
            }
            Values::OneOf(values) => {
                constraints.insert("enum".into(), json!(values));
            }
            Values::Pattern { regex, .. } => {
                constraints.insert("pattern".into(), json!(regex));
            }
        }
        field.insert("constraints".into(), Value::Object(constraints));
        Value::Object(field)
    }
}

/// One CSV file of an export: its columns in order and the columns that identify a row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Resource {
    pub(crate) file: String,
    pub(crate) description: String,
    pub(crate) fields: Vec<Field>,
    pub(crate) primary_key: Vec<String>,
}

impl Resource {
    pub(crate) fn header(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    /// The Table Schema resource, with the size and checksum the file was written with.
    fn to_json(&self, entry: Option<&FileEntry>) -> Value {
        let mut resource = Map::new();
        resource.insert("name".into(), json!(resource_name(&self.file)));
        resource.insert("path".into(), json!(self.file));
        resource.insert("profile".into(), json!("tabular-data-resource"));
        resource.insert("description".into(), json!(self.description));
        resource.insert("format".into(), json!("csv"));
        resource.insert("mediatype".into(), json!("text/csv"));
        resource.insert("encoding".into(), json!("utf-8"));
        if let Some(entry) = entry {
            resource.insert("bytes".into(), json!(entry.bytes));
            resource.insert("hash".into(), json!(format!("sha256:{}", entry.sha256)));
        }
        resource.insert(
            "dialect".into(),
            json!({"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": "\"",
                   "doubleQuote": true, "header": true}),
        );
        resource.insert(
            "schema".into(),
            json!({
                "fields": self.fields.iter().map(Field::to_json).collect::<Vec<_>>(),
                "missingValues": [""],
                "primaryKey": self.primary_key,
            }),
        );
        Value::Object(resource)
    }
}

/// A resource name as Data Package requires it (lower-case letters, digits, `-._`): the file
/// name without `.csv`, which certanon's file names already are.
fn resource_name(file: &str) -> String {
    file.strip_suffix(".csv")
        .unwrap_or(file)
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.' | '_') => c,
            _ => '-',
        })
        .collect()
}

/// `datapackage.json`: every CSV file of the export as a tabular resource, with its size and
/// SHA-256 from `files`, and the run it came from.
pub(crate) fn data_package(
    manifest: &Manifest,
    resources: &[Resource],
    files: &[FileEntry],
) -> Result<Vec<u8>> {
    let package = json!({
        "profile": "tabular-data-package",
        "name": resource_name(&format!("{}-{}", manifest.task, manifest.run_id)),
        "id": manifest.run_id,
        "title": format!("certanon {} export of task {}", manifest.kind, manifest.task),
        "description": "Generated by certanon. The privacy facts of each file, and the policy it \
                        was released under, are in manifest.json; DATA_DICTIONARY.md explains \
                        every column.",
        "created": manifest.created,
        "resources": resources
            .iter()
            .map(|r| r.to_json(files.iter().find(|f| f.name == r.file)))
            .collect::<Vec<_>>(),
    });
    let mut bytes = serde_json::to_vec_pretty(&package)
        .map_err(|e| Error::Other(format!("{DATA_PACKAGE}: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
impl Resource {
    /// A file of text columns holding anything, keyed by its first column: for tests of what
    /// the sink and `verify` do with files whatever their values.
    pub(crate) fn text(file: &str, columns: &[&str]) -> Resource {
        let any = Values::Pattern {
            regex: ".*".to_owned(),
            shape: "any text".to_owned(),
        };
        Resource {
            file: file.to_owned(),
            description: String::new(),
            fields: columns
                .iter()
                .map(|c| Field::new(c, "", any.clone()).optional())
                .collect(),
            primary_key: columns.iter().take(1).map(|&c| c.to_owned()).collect(),
        }
    }
}
