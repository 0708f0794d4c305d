//! Mem0's filter language (design §5): parsed from JSON into a typed tree, then
//! compiled to a SQL boolean expression over the table alias `m` whose values
//! are all `$n` parameters. Field names come from a fixed list and are never
//! copied from the input into the SQL text; metadata keys travel as a `text[]`
//! parameter.
//!
//! Semantics:
//! - sibling keys of one object are AND-ed; `AND`/`OR` take a non-empty list,
//!   `NOT` a list (AND-ed, then negated) or a single object;
//! - `ne`, `nin` and `NOT` match rows that lack the field (SQL NULL counts as
//!   "does not match" everywhere, and `NOT` is null-safe);
//! - metadata values compare as JSON: numbers as numbers, text as text;
//! - `"*"` means "has any value".

use crate::error::{Error, Kind, Result};
use serde_json::{Map, Value};

/// Deepest nesting of AND/OR/NOT and metadata objects.
pub const MAX_DEPTH: usize = 32;
/// Most conditions in one filter.
pub const MAX_CONDITIONS: usize = 1000;
/// Longest list for `in` / `nin`.
pub const MAX_LIST: usize = 10_000;
/// Most segments in a metadata key path (`metadata.a.b.c`).
pub const MAX_PATH: usize = 16;

/// Text columns that can be filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextColumn {
    UserId,
    AgentId,
    RunId,
    AppId,
    ActorId,
    Role,
    MemoryType,
}

impl TextColumn {
    pub fn column(self) -> &'static str {
        match self {
            TextColumn::UserId => "user_id",
            TextColumn::AgentId => "agent_id",
            TextColumn::RunId => "run_id",
            TextColumn::AppId => "app_id",
            TextColumn::ActorId => "actor_id",
            TextColumn::Role => "role",
            TextColumn::MemoryType => "memory_type",
        }
    }
    /// The columns that fence tenants (design §3).
    pub fn is_scope(self) -> bool {
        matches!(
            self,
            TextColumn::UserId | TextColumn::AgentId | TextColumn::RunId
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeColumn {
    CreatedAt,
    UpdatedAt,
}

impl TimeColumn {
    fn column(self) -> &'static str {
        match self {
            TimeColumn::CreatedAt => "created_at",
            TimeColumn::UpdatedAt => "updated_at",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Text(TextColumn),
    Time(TimeColumn),
    Categories,
    Metadata(Vec<String>),
}

const FIELD_NAMES: &str = "user_id, agent_id, run_id, app_id, actor_id, role, memory_type, \
created_at, updated_at, categories, metadata.<key> or {\"metadata\": {...}}";

fn field_by_name(name: &str) -> Option<Field> {
    Some(match name {
        "user_id" => Field::Text(TextColumn::UserId),
        "agent_id" => Field::Text(TextColumn::AgentId),
        "run_id" => Field::Text(TextColumn::RunId),
        "app_id" => Field::Text(TextColumn::AppId),
        "actor_id" => Field::Text(TextColumn::ActorId),
        "role" => Field::Text(TextColumn::Role),
        "memory_type" => Field::Text(TextColumn::MemoryType),
        "created_at" => Field::Time(TimeColumn::CreatedAt),
        "updated_at" => Field::Time(TimeColumn::UpdatedAt),
        "categories" => Field::Categories,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
    Contains,
    Icontains,
    /// `"*"`: the field has a value.
    Any,
}

const OPERATOR_NAMES: &str = "eq, ne, gt, gte, lt, lte, in, nin, contains, icontains";

fn op_by_name(name: &str) -> Option<Op> {
    Some(match name {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "gt" => Op::Gt,
        "gte" => Op::Gte,
        "lt" => Op::Lt,
        "lte" => Op::Lte,
        "in" => Op::In,
        "nin" => Op::Nin,
        "contains" => Op::Contains,
        "icontains" => Op::Icontains,
        _ => return None,
    })
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::In => "in",
            Op::Nin => "nin",
            Op::Contains => "contains",
            Op::Icontains => "icontains",
            Op::Any => "*",
        }
    }
    fn sql_cmp(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            _ => "=",
        }
    }
}

/// One comparison, already checked for a value of the right type.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Vec<Filter>),
    Cond(Condition),
}

/// A parameter value for the compiled SQL, in `$n` order.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    TextArray(Vec<String>),
    Json(Value),
    Float(f64),
}

fn bad(message: impl Into<String>) -> Error {
    Error::invalid_parameter(message)
}

/// Parse a filter document.
pub fn parse(value: &Value) -> Result<Filter> {
    let mut parser = Parser { conditions: 0 };
    parser.node(value, 0)
}

struct Parser {
    conditions: usize,
}

impl Parser {
    fn node(&mut self, value: &Value, depth: usize) -> Result<Filter> {
        if depth > MAX_DEPTH {
            return Err(Error::new(
                Kind::LimitExceeded,
                format!("filter is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let obj = value.as_object().ok_or_else(|| {
            bad("invalid filter: expected a JSON object")
                .detail(format!("Found {}.", json_kind(value)))
                .hint("Write filters like {\"AND\": [{\"user_id\": \"alice\"}, {\"metadata.topic\": \"food\"}]}.")
        })?;
        if obj.is_empty() {
            return Err(bad("invalid filter: empty object")
                .hint("Leave filters out (NULL) instead of passing {}."));
        }
        let mut parts = Vec::with_capacity(obj.len());
        for (key, v) in obj {
            parts.push(self.entry(key, v, depth)?);
        }
        Ok(single_or_and(parts))
    }

    fn entry(&mut self, key: &str, v: &Value, depth: usize) -> Result<Filter> {
        match key {
            "AND" | "and" | "OR" | "or" => {
                let list = v.as_array().ok_or_else(|| {
                    bad(format!("invalid filter: \"{key}\" takes a list of filters"))
                })?;
                if list.is_empty() {
                    return Err(bad(format!("invalid filter: \"{key}\" has an empty list")));
                }
                let children = list
                    .iter()
                    .map(|c| self.node(c, depth + 1))
                    .collect::<Result<Vec<_>>>()?;
                Ok(if key.eq_ignore_ascii_case("AND") {
                    Filter::And(children)
                } else {
                    Filter::Or(children)
                })
            }
            "NOT" | "not" => {
                let children = match v {
                    Value::Array(list) if !list.is_empty() => list
                        .iter()
                        .map(|c| self.node(c, depth + 1))
                        .collect::<Result<Vec<_>>>()?,
                    Value::Object(_) => vec![self.node(v, depth + 1)?],
                    _ => {
                        return Err(bad(
                            "invalid filter: \"NOT\" takes a non-empty list of filters",
                        ))
                    }
                };
                Ok(Filter::Not(children))
            }
            "metadata" => {
                let doc = v.as_object().ok_or_else(|| {
                    bad("invalid filter: \"metadata\" takes an object of keys and values")
                        .hint("Use {\"metadata\": {\"topic\": \"food\"}} or {\"metadata.topic\": \"food\"}.")
                })?;
                self.metadata_doc(Vec::new(), doc, depth + 1)
            }
            _ => {
                if let Some(path) = key.strip_prefix("metadata.") {
                    let segments: Vec<String> = path.split('.').map(str::to_string).collect();
                    check_path(&segments, key)?;
                    self.conditions(Field::Metadata(segments), v)
                } else if let Some(field) = field_by_name(key) {
                    self.conditions(field, v)
                } else {
                    Err(
                        bad(format!("invalid filter: unknown field \"{}\"", clip(key)))
                            .hint(format!("Filterable fields: {FIELD_NAMES}.")),
                    )
                }
            }
        }
    }

    /// `{"metadata": {"a": 1, "b": {"gt": 2}, "c": {"d": "x"}}}`.
    fn metadata_doc(
        &mut self,
        prefix: Vec<String>,
        doc: &Map<String, Value>,
        depth: usize,
    ) -> Result<Filter> {
        if depth > MAX_DEPTH {
            return Err(Error::new(
                Kind::LimitExceeded,
                format!("filter is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        if doc.is_empty() {
            return Err(bad("invalid filter: empty metadata object"));
        }
        let mut parts = Vec::with_capacity(doc.len());
        for (key, v) in doc {
            let mut path = prefix.clone();
            path.push(key.clone());
            check_path(&path, key)?;
            let part = match v.as_object() {
                Some(inner) if !inner.is_empty() && !is_operator_object(inner)? => {
                    self.metadata_doc(path, inner, depth + 1)?
                }
                _ => self.conditions(Field::Metadata(path), v)?,
            };
            parts.push(part);
        }
        Ok(single_or_and(parts))
    }

    /// The value side of `field: value`: a plain value (eq), "*", or an object
    /// of operators (AND-ed).
    fn conditions(&mut self, field: Field, v: &Value) -> Result<Filter> {
        match v {
            Value::String(s) if s == "*" => self.condition(field, Op::Any, Value::Null),
            Value::Object(ops) => {
                if ops.is_empty() {
                    return Err(bad("invalid filter: empty operator object")
                        .hint(format!("Operators: {OPERATOR_NAMES}.")));
                }
                let mut parts = Vec::with_capacity(ops.len());
                for (name, operand) in ops {
                    let op = op_by_name(name).ok_or_else(|| {
                        bad(format!(
                            "invalid filter: unknown operator \"{}\"",
                            clip(name)
                        ))
                        .hint(format!("Operators: {OPERATOR_NAMES}."))
                    })?;
                    parts.push(self.condition(field.clone(), op, operand.clone())?);
                }
                Ok(single_or_and(parts))
            }
            _ => self.condition(field, Op::Eq, v.clone()),
        }
    }

    fn condition(&mut self, field: Field, op: Op, value: Value) -> Result<Filter> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(Error::new(
                Kind::LimitExceeded,
                format!("filter has more than {MAX_CONDITIONS} conditions"),
            ));
        }
        check_value(&field, op, &value)?;
        Ok(Filter::Cond(Condition { field, op, value }))
    }
}

fn single_or_and(mut parts: Vec<Filter>) -> Filter {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        Filter::And(parts)
    }
}

/// An object is an operator object when all its keys are operators; a mix of
/// operators and plain keys is ambiguous and refused.
/// Operators of other filter languages (SQL, MongoDB, Chroma, Qdrant) that
/// a caller may try here. In `{"metadata": {...}}` an object of plain keys
/// is a nested metadata document (`{"prefs": {"food": "tea"}}` matches
/// metadata.prefs.food), so one of these as a key would silently match
/// nothing; it is refused as an unknown operator instead, as is any key
/// starting with `$`.
const FOREIGN_OPERATORS: &[&str] = &[
    "like",
    "ilike",
    "not_like",
    "regex",
    "match",
    "between",
    "exists",
    "startswith",
    "starts_with",
    "endswith",
    "ends_with",
    "not_in",
    "notin",
    "neq",
    "not_eq",
    "contains_any",
    "contains_all",
    "range",
];

fn is_operator_object(obj: &Map<String, Value>) -> Result<bool> {
    if let Some(k) = obj
        .keys()
        .find(|k| k.starts_with('$') || FOREIGN_OPERATORS.contains(&k.to_lowercase().as_str()))
    {
        return Err(
            bad(format!("invalid filter: unknown operator \"{}\"", clip(k))).hint(format!(
                "Operators: {OPERATOR_NAMES}. A nested object of other keys is a metadata path."
            )),
        );
    }
    let ops = obj.keys().filter(|k| op_by_name(k).is_some()).count();
    if ops == 0 {
        Ok(false)
    } else if ops == obj.len() {
        Ok(true)
    } else {
        Err(
            bad("invalid filter: an object mixes operators and metadata keys").hint(format!(
                "Operators ({OPERATOR_NAMES}) cannot sit beside plain keys."
            )),
        )
    }
}

fn check_path(path: &[String], key: &str) -> Result<()> {
    if path.len() > MAX_PATH {
        return Err(Error::new(
            Kind::LimitExceeded,
            format!("metadata key path has more than {MAX_PATH} parts"),
        ));
    }
    if path.iter().any(|s| s.is_empty()) {
        return Err(bad(format!(
            "invalid filter: empty metadata key in \"{}\"",
            clip(key)
        )));
    }
    Ok(())
}

fn clip(s: &str) -> String {
    if s.chars().count() > 64 {
        let mut t: String = s.chars().take(64).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn field_name(field: &Field) -> String {
    match field {
        Field::Text(c) => c.column().to_string(),
        Field::Time(c) => c.column().to_string(),
        Field::Categories => "categories".to_string(),
        Field::Metadata(p) => format!("metadata.{}", p.join(".")),
    }
}

fn check_value(field: &Field, op: Op, value: &Value) -> Result<()> {
    let wrong = |expected: &str| {
        bad(format!(
            "invalid filter: \"{}\" with operator \"{}\" expects {expected}",
            clip(&field_name(field)),
            op.name()
        ))
        .detail(format!("Found {}.", json_kind(value)))
    };
    let list_of = |pred: fn(&Value) -> bool, expected: &str| -> Result<()> {
        let list = value.as_array().ok_or_else(|| wrong(expected))?;
        if list.len() > MAX_LIST {
            return Err(Error::new(
                Kind::LimitExceeded,
                format!("filter list has more than {MAX_LIST} values"),
            ));
        }
        if list.iter().all(pred) {
            Ok(())
        } else {
            Err(wrong(expected))
        }
    };
    if op == Op::Any {
        return Ok(());
    }
    match field {
        Field::Text(_) => match op {
            Op::Eq | Op::Ne if value.is_null() || value.is_string() => Ok(()),
            Op::Gt | Op::Gte | Op::Lt | Op::Lte | Op::Contains | Op::Icontains
                if value.is_string() =>
            {
                Ok(())
            }
            Op::In | Op::Nin => list_of(Value::is_string, "a list of strings"),
            _ => Err(wrong("a string")),
        },
        Field::Time(_) => match op {
            Op::Eq | Op::Ne | Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                if value.is_string() || value.as_f64().is_some_and(f64::is_finite) {
                    Ok(())
                } else {
                    Err(wrong("a timestamp (ISO 8601 text or Unix seconds)"))
                }
            }
            _ => Err(bad(format!(
                "invalid filter: operator \"{}\" does not apply to \"{}\"",
                op.name(),
                field_name(field)
            ))
            .hint("Timestamps take eq, ne, gt, gte, lt, lte.")),
        },
        Field::Categories => match op {
            Op::Eq | Op::Ne | Op::Contains if value.is_string() => Ok(()),
            Op::In | Op::Nin => list_of(Value::is_string, "a list of strings"),
            Op::Eq | Op::Ne | Op::Contains => Err(wrong("a category name")),
            _ => Err(bad(format!(
                "invalid filter: operator \"{}\" does not apply to \"categories\"",
                op.name()
            ))
            .hint("Categories take eq, ne, contains, in, nin.")),
        },
        Field::Metadata(_) => match op {
            Op::Eq | Op::Ne => Ok(()),
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                if value.is_number() || value.is_string() {
                    Ok(())
                } else {
                    Err(wrong("a number or a string"))
                }
            }
            Op::In | Op::Nin => list_of(
                |v| !(v.is_array() || v.is_object()),
                "a list of scalar values",
            ),
            Op::Contains => {
                if value.is_array() || value.is_object() || value.is_null() {
                    Err(wrong("a scalar value"))
                } else {
                    Ok(())
                }
            }
            Op::Icontains => {
                if value.is_string() {
                    Ok(())
                } else {
                    Err(wrong("a string"))
                }
            }
            Op::Any => Ok(()),
        },
    }
}

impl Filter {
    /// Whether the filter fences its rows to scopes it names, so that it can
    /// stand for the scope of a search or get_all: an equality on a scope
    /// column (`user_id`, `agent_id`, `run_id`), or `in` over a non-empty
    /// list of such values, reachable from the root through AND; or an OR
    /// every branch of which names one (`{"OR": [{"user_id": "a"},
    /// {"user_id": "b"}]}`). NOT, `"*"` and metadata keys never do.
    pub fn names_scope(&self) -> bool {
        match self {
            Filter::And(children) => children.iter().any(Filter::names_scope),
            Filter::Or(children) => {
                !children.is_empty() && children.iter().all(Filter::names_scope)
            }
            Filter::Cond(Condition {
                field: Field::Text(col),
                op: Op::Eq,
                value: Value::String(_),
            }) => col.is_scope(),
            Filter::Cond(Condition {
                field: Field::Text(col),
                op: Op::In,
                value: Value::Array(values),
            }) => col.is_scope() && !values.is_empty() && values.iter().all(Value::is_string),
            _ => false,
        }
    }

    /// Compile to SQL over alias `m`; parameters are numbered from
    /// `params.len() + first_index`.
    pub fn to_sql(&self, first_index: usize, params: &mut Vec<Param>) -> String {
        let mut c = Compiler {
            first_index,
            params,
        };
        c.node(self)
    }
}

struct Compiler<'a> {
    first_index: usize,
    params: &'a mut Vec<Param>,
}

impl Compiler<'_> {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.first_index + self.params.len() - 1)
    }

    fn node(&mut self, f: &Filter) -> String {
        match f {
            Filter::And(children) => self.join(children, " AND "),
            Filter::Or(children) => self.join(children, " OR "),
            Filter::Not(children) => {
                format!("(NOT COALESCE({}, false))", self.join(children, " AND "))
            }
            Filter::Cond(c) => self.cond(c),
        }
    }

    fn join(&mut self, children: &[Filter], sep: &str) -> String {
        let parts: Vec<String> = children.iter().map(|c| self.node(c)).collect();
        format!("({})", parts.join(sep))
    }

    fn cond(&mut self, c: &Condition) -> String {
        match &c.field {
            Field::Text(col) => self.text(col.column(), c.op, &c.value),
            Field::Time(col) => self.time(col.column(), c.op, &c.value),
            Field::Categories => self.categories(c.op, &c.value),
            Field::Metadata(path) => self.metadata(path, c.op, &c.value),
        }
    }

    fn text(&mut self, col: &str, op: Op, v: &Value) -> String {
        let s = || v.as_str().unwrap_or_default().to_string();
        match op {
            Op::Any => format!("(m.{col} IS NOT NULL)"),
            Op::Eq if v.is_null() => format!("(m.{col} IS NULL)"),
            Op::Ne if v.is_null() => format!("(m.{col} IS NOT NULL)"),
            Op::Eq => format!("(m.{col} = {}::text)", self.bind(Param::Text(s()))),
            Op::Ne => format!(
                "(m.{col} IS DISTINCT FROM {}::text)",
                self.bind(Param::Text(s()))
            ),
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => format!(
                "(m.{col} {} {}::text)",
                op.sql_cmp(),
                self.bind(Param::Text(s()))
            ),
            Op::In => format!(
                "(m.{col} = ANY({}::text[]))",
                self.bind(Param::TextArray(strings(v)))
            ),
            Op::Nin => format!(
                "(m.{col} IS NULL OR m.{col} <> ALL({}::text[]))",
                self.bind(Param::TextArray(strings(v)))
            ),
            Op::Contains => format!(
                "(strpos(m.{col}, {}::text) > 0)",
                self.bind(Param::Text(s()))
            ),
            Op::Icontains => format!(
                "(strpos(lower(m.{col}), lower({}::text)) > 0)",
                self.bind(Param::Text(s()))
            ),
        }
    }

    fn time(&mut self, col: &str, op: Op, v: &Value) -> String {
        if op == Op::Any {
            return format!("(m.{col} IS NOT NULL)");
        }
        let rhs = match v {
            Value::String(s) => format!("{}::timestamptz", self.bind(Param::Text(s.clone()))),
            _ => format!(
                "to_timestamp({}::float8)",
                self.bind(Param::Float(v.as_f64().unwrap_or_default()))
            ),
        };
        match op {
            Op::Ne => format!("(m.{col} IS DISTINCT FROM {rhs})"),
            _ => format!("(m.{col} {} {rhs})", op.sql_cmp()),
        }
    }

    fn categories(&mut self, op: Op, v: &Value) -> String {
        match op {
            Op::Any => "(cardinality(m.categories) > 0)".to_string(),
            Op::Eq | Op::Contains => format!(
                "({}::text = ANY(m.categories))",
                self.bind(Param::Text(v.as_str().unwrap_or_default().to_string()))
            ),
            Op::Ne => format!(
                "(NOT COALESCE({}::text = ANY(m.categories), false))",
                self.bind(Param::Text(v.as_str().unwrap_or_default().to_string()))
            ),
            Op::In => format!(
                "(m.categories && {}::text[])",
                self.bind(Param::TextArray(strings(v)))
            ),
            _ => format!(
                "(NOT COALESCE(m.categories && {}::text[], false))",
                self.bind(Param::TextArray(strings(v)))
            ),
        }
    }

    fn metadata(&mut self, path: &[String], op: Op, v: &Value) -> String {
        // Equality on a scalar uses containment, which the GIN index on
        // metadata answers; everything else reads the value at the path.
        if op == Op::Eq && !(v.is_array() || v.is_object() || v.is_null()) {
            let doc = path.iter().rev().fold(v.clone(), |acc, k| {
                Value::Object(Map::from_iter([(k.clone(), acc)]))
            });
            return format!("(m.metadata @> {}::jsonb)", self.bind(Param::Json(doc)));
        }
        let p = self.bind(Param::TextArray(path.to_vec()));
        let at = format!("(m.metadata #> {p}::text[])");
        let at_text = format!("(m.metadata #>> {p}::text[])");
        match op {
            Op::Any => format!("({at} IS NOT NULL)"),
            Op::Eq => format!("({at} = {}::jsonb)", self.bind(Param::Json(v.clone()))),
            Op::Ne => format!(
                "({at} IS DISTINCT FROM {}::jsonb)",
                self.bind(Param::Json(v.clone()))
            ),
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let cmp = op.sql_cmp();
                match v {
                    Value::Number(n) => format!(
                        "((CASE WHEN jsonb_typeof({at}) = 'number' THEN {at_text}::numeric END) {cmp} {}::numeric)",
                        self.bind(Param::Text(n.to_string()))
                    ),
                    _ => format!(
                        "((CASE WHEN jsonb_typeof({at}) = 'string' THEN {at_text} END) {cmp} {}::text)",
                        self.bind(Param::Text(v.as_str().unwrap_or_default().to_string()))
                    ),
                }
            }
            Op::In => format!(
                "({at} IN (SELECT jsonb_array_elements({}::jsonb)))",
                self.bind(Param::Json(v.clone()))
            ),
            Op::Nin => format!(
                "(NOT COALESCE({at} IN (SELECT jsonb_array_elements({}::jsonb)), false))",
                self.bind(Param::Json(v.clone()))
            ),
            Op::Contains => {
                let q = self.bind(Param::Json(v.clone()));
                format!(
                    "(CASE jsonb_typeof({at}) WHEN 'array' THEN {at} @> jsonb_build_array({q}::jsonb) \
                     WHEN 'string' THEN strpos({at_text}, {q}::jsonb #>> '{{}}') > 0 ELSE false END)"
                )
            }
            Op::Icontains => format!(
                "(jsonb_typeof({at}) = 'string' AND strpos(lower({at_text}), lower({}::text)) > 0)",
                self.bind(Param::Text(v.as_str().unwrap_or_default().to_string()))
            ),
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sql(v: Value) -> (String, Vec<Param>) {
        let f = parse(&v).unwrap();
        let mut params = Vec::new();
        let s = f.to_sql(1, &mut params);
        (s, params)
    }

    fn err(v: Value) -> Error {
        parse(&v).unwrap_err()
    }

    #[test]
    fn scope_equality() {
        let (s, p) = sql(json!({"user_id": "alice"}));
        assert_eq!(s, "(m.user_id = $1::text)");
        assert_eq!(p, vec![Param::Text("alice".into())]);
    }

    #[test]
    fn sibling_keys_are_anded_and_numbered() {
        let (s, p) = sql(json!({"AND": [{"user_id": "a"}, {"agent_id": {"ne": "b"}}]}));
        assert_eq!(
            s,
            "((m.user_id = $1::text) AND (m.agent_id IS DISTINCT FROM $2::text))"
        );
        assert_eq!(p.len(), 2);
        let f = parse(&json!({"user_id": "a", "run_id": "r"})).unwrap();
        assert!(matches!(f, Filter::And(ref c) if c.len() == 2));
        let mut params = vec![Param::Text("x".into()), Param::Text("y".into())];
        let s = f.to_sql(1, &mut params);
        assert!(s.contains("$3") && s.contains("$4"), "{s}");
    }

    #[test]
    fn every_operator_on_text_columns() {
        for (op, frag) in [
            ("eq", "= $1"),
            ("ne", "IS DISTINCT FROM $1"),
            ("gt", "> $1"),
            ("gte", ">= $1"),
            ("lt", "< $1"),
            ("lte", "<= $1"),
            ("contains", "strpos(m.agent_id, $1"),
            ("icontains", "strpos(lower(m.agent_id), lower($1"),
        ] {
            let (s, _) = sql(json!({"agent_id": {op: "x"}}));
            assert!(s.contains(frag), "{op}: {s}");
        }
        let (s, p) = sql(json!({"run_id": {"in": ["a", "b"]}}));
        assert_eq!(s, "(m.run_id = ANY($1::text[]))");
        assert_eq!(p, vec![Param::TextArray(vec!["a".into(), "b".into()])]);
        let (s, _) = sql(json!({"run_id": {"nin": ["a"]}}));
        assert!(s.contains("m.run_id IS NULL OR"), "{s}");
        let (s, p) = sql(json!({"app_id": "*"}));
        assert_eq!(s, "(m.app_id IS NOT NULL)");
        assert!(p.is_empty());
        let (s, _) = sql(json!({"role": null}));
        assert_eq!(s, "(m.role IS NULL)");
    }

    #[test]
    fn time_fields() {
        let (s, p) = sql(json!({"created_at": {"gte": "2024-01-01", "lt": 1735689600}}));
        assert!(s.contains("m.created_at >= $1::timestamptz"), "{s}");
        assert!(s.contains("m.created_at < to_timestamp($2::float8)"), "{s}");
        assert_eq!(p[1], Param::Float(1735689600.0));
        assert_eq!(
            err(json!({"created_at": {"in": ["x"]}})).kind,
            Kind::InvalidParameter
        );
        assert_eq!(
            err(json!({"updated_at": true})).kind,
            Kind::InvalidParameter
        );
    }

    #[test]
    fn categories() {
        let (s, _) = sql(json!({"categories": {"contains": "food"}}));
        assert_eq!(s, "($1::text = ANY(m.categories))");
        let (s, _) = sql(json!({"categories": {"in": ["food", "travel"]}}));
        assert_eq!(s, "(m.categories && $1::text[])");
        let (s, _) = sql(json!({"categories": {"nin": ["food"]}}));
        assert!(s.starts_with("(NOT COALESCE("), "{s}");
        assert!(parse(&json!({"categories": {"gt": "a"}})).is_err());
        assert!(parse(&json!({"categories": {"in": [1]}})).is_err());
    }

    #[test]
    fn metadata_dotted_and_document_forms_agree() {
        let a = parse(&json!({"metadata.topic": "food"})).unwrap();
        let b = parse(&json!({"metadata": {"topic": "food"}})).unwrap();
        assert_eq!(a, b);
        let (s, p) = sql(json!({"metadata": {"prefs": {"food": "tea"}}}));
        assert_eq!(s, "(m.metadata @> $1::jsonb)");
        assert_eq!(p, vec![Param::Json(json!({"prefs": {"food": "tea"}}))]);
        let c = parse(&json!({"metadata.prefs.food": "tea"})).unwrap();
        assert_eq!(
            c,
            parse(&json!({"metadata": {"prefs": {"food": "tea"}}})).unwrap()
        );
    }

    #[test]
    fn metadata_operators() {
        let (s, p) = sql(json!({"metadata": {"priority": {"gte": 2}}}));
        assert!(
            s.contains("'number'") && s.contains(">= $2::numeric"),
            "{s}"
        );
        assert_eq!(p[0], Param::TextArray(vec!["priority".into()]));
        assert_eq!(p[1], Param::Text("2".into()));
        let (s, _) = sql(json!({"metadata.day": {"lt": "2024-05-01"}}));
        assert!(s.contains("'string'") && s.contains("< $2::text"), "{s}");
        let (s, _) = sql(json!({"metadata.tag": {"in": ["a", 1, true]}}));
        assert!(
            s.contains("IN (SELECT jsonb_array_elements($2::jsonb))"),
            "{s}"
        );
        let (s, _) = sql(json!({"metadata.tag": {"nin": ["a"]}}));
        assert!(s.starts_with("(NOT COALESCE("), "{s}");
        let (s, _) = sql(json!({"metadata.tag": {"ne": "a"}}));
        assert!(s.contains("IS DISTINCT FROM $2::jsonb"), "{s}");
        let (s, _) = sql(json!({"metadata.tag": {"contains": "a"}}));
        assert!(
            s.contains("WHEN 'array'") && s.contains("WHEN 'string'"),
            "{s}"
        );
        let (s, _) = sql(json!({"metadata.tag": {"icontains": "A"}}));
        assert!(s.contains("lower($2::text)"), "{s}");
        let (s, _) = sql(json!({"metadata.tag": "*"}));
        assert_eq!(s, "((m.metadata #> $1::text[]) IS NOT NULL)");
        let (s, _) = sql(json!({"metadata.tag": [1, 2]}));
        assert!(s.contains("= $2::jsonb"), "{s}");
    }

    #[test]
    fn boolean_structure() {
        let (s, _) = sql(json!({"OR": [{"user_id": "a"}, {"NOT": [{"agent_id": "b"}]}]}));
        assert_eq!(
            s,
            "((m.user_id = $1::text) OR (NOT COALESCE(((m.agent_id = $2::text)), false)))"
        );
        let single = parse(&json!({"NOT": {"user_id": "a"}})).unwrap();
        assert!(matches!(single, Filter::Not(ref c) if c.len() == 1));
    }

    #[test]
    fn scopes_named_through_and_in_and_or() {
        let names = |v: Value| parse(&v).unwrap().names_scope();
        assert!(names(json!({"user_id": "a"})));
        assert!(names(
            json!({"AND": [{"metadata.x": 1}, {"agent_id": "x"}]})
        ));
        assert!(names(json!({"user_id": {"in": ["a", "b"]}})));
        assert!(names(json!({"OR": [{"user_id": "a"}, {"user_id": "b"}]})));
        assert!(names(
            json!({"OR": [{"user_id": "a"}, {"AND": [{"run_id": "r"}, {"metadata.x": 1}]}]})
        ));
        // a branch that names no scope, or a NOT, a wildcard, a metadata key
        // or app_id, leaves rows of any scope possible
        assert!(!names(json!({"OR": [{"user_id": "a"}, {"metadata.x": 1}]})));
        assert!(!names(json!({"NOT": [{"user_id": "a"}]})));
        assert!(!names(json!({"user_id": "*"})));
        assert!(!names(json!({"user_id": {"ne": "a"}})));
        assert!(!names(json!({"user_id": {"nin": ["a"]}})));
        assert!(
            !names(json!({"metadata.user_id": "a"})),
            "metadata keys never scope"
        );
        assert!(!names(json!({"app_id": "a"})));
        assert!(names(
            json!({"AND": [{"user_id": "a"}, {"OR": [{"agent_id": "x"}]}, {"run_id": "*"}]})
        ));
    }

    #[test]
    fn unknown_fields_and_operators_are_errors() {
        let e = err(json!({"usr_id": "a"}));
        assert_eq!(e.kind, Kind::InvalidParameter);
        assert!(e.message.contains("unknown field \"usr_id\""));
        assert!(e.hint.unwrap().contains("user_id"));
        let e = err(json!({"user_id": {"like": "a"}}));
        assert!(e.message.contains("unknown operator \"like\""));
        assert!(err(json!({"metadata": {"a": {"gt": 1, "b": 2}}}))
            .message
            .contains("mixes"));
        // In the nested metadata form, another language's operator is an
        // unknown operator, not a nested key (which would match nothing).
        for f in [
            json!({"metadata": {"topic": {"like": "foo%"}}}),
            json!({"metadata": {"prefs": {"food": {"$eq": "tea"}}}}),
            json!({"metadata": {"n": {"between": [1, 2]}}}),
            json!({"metadata.n": {"$gt": 1}}),
        ] {
            let e = err(f.clone());
            assert_eq!(e.kind, Kind::InvalidParameter, "{f}");
            assert!(e.message.contains("unknown operator"), "{f}: {}", e.message);
        }
        assert!(parse(&json!({"metadata": {"prefs": {"food": "tea"}}})).is_ok());
        assert!(err(json!({"user_id": {}}))
            .message
            .contains("empty operator"));
        assert!(err(json!({})).message.contains("empty object"));
        assert!(err(json!({"AND": []})).message.contains("empty list"));
        assert!(err(json!({"AND": {"user_id": "a"}}))
            .message
            .contains("list"));
        assert!(err(json!({"NOT": 3})).message.contains("NOT"));
        assert!(err(json!([{"user_id": "a"}])).message.contains("object"));
        assert!(err(json!("user_id = 'a'")).message.contains("object"));
        assert!(err(json!({"metadata": 5})).message.contains("metadata"));
        assert!(err(json!({"metadata.": 5}))
            .message
            .contains("empty metadata key"));
        assert!(err(json!({"metadata.a..b": 5}))
            .message
            .contains("empty metadata key"));
    }

    #[test]
    fn wrong_value_types_are_errors() {
        for bad in [
            json!({"user_id": 5}),
            json!({"user_id": ["a"]}),
            json!({"user_id": {"in": "a"}}),
            json!({"user_id": {"in": [1]}}),
            json!({"user_id": {"gt": 1}}),
            json!({"agent_id": {"contains": null}}),
            json!({"metadata.a": {"gt": true}}),
            json!({"metadata.a": {"gt": [1]}}),
            json!({"metadata.a": {"in": 1}}),
            json!({"metadata.a": {"in": [[1]]}}),
            json!({"metadata.a": {"contains": [1]}}),
            json!({"metadata.a": {"icontains": 1}}),
        ] {
            let e = parse(&bad).unwrap_err();
            assert_eq!(e.kind, Kind::InvalidParameter, "{bad}");
        }
    }

    #[test]
    fn hostile_input_stays_in_parameters() {
        let evil = "a'); DROP TABLE memory.memories; --";
        let (s, p) = sql(json!({"user_id": evil, "metadata": {evil: {"contains": evil}}}));
        assert!(!s.contains("DROP"), "{s}");
        assert!(!s.contains(evil), "{s}");
        assert!(p.contains(&Param::Text(evil.into())));
        assert!(p.contains(&Param::TextArray(vec![evil.into()])));
        let e = err(json!({evil: 1}));
        assert!(e.message.contains("unknown field"));
        let e = err(json!({"user_id": {evil: 1}}));
        assert!(e.message.contains("unknown operator"));
    }

    #[test]
    fn limits() {
        let mut deep = json!({"user_id": "a"});
        for _ in 0..(MAX_DEPTH + 2) {
            deep = json!({"AND": [deep]});
        }
        assert_eq!(err(deep).kind, Kind::LimitExceeded);
        let mut deep_meta = json!("x");
        for i in 0..(MAX_DEPTH + 2) {
            deep_meta = json!({ format!("k{i}"): deep_meta });
        }
        let e = err(json!({ "metadata": deep_meta }));
        assert_eq!(e.kind, Kind::LimitExceeded);
        let huge: Vec<String> = (0..MAX_LIST + 1).map(|i| i.to_string()).collect();
        assert_eq!(
            err(json!({"user_id": {"in": huge}})).kind,
            Kind::LimitExceeded
        );
        let ok: Vec<String> = (0..MAX_LIST).map(|i| i.to_string()).collect();
        assert!(parse(&json!({"user_id": {"in": ok}})).is_ok());
        let many: Vec<Value> = (0..MAX_CONDITIONS + 1)
            .map(|i| json!({"run_id": i.to_string()}))
            .collect();
        assert_eq!(err(json!({ "OR": many })).kind, Kind::LimitExceeded);
        let long_path = format!("metadata.{}", vec!["k"; MAX_PATH + 1].join("."));
        assert_eq!(err(json!({ long_path: 1 })).kind, Kind::LimitExceeded);
    }
}
