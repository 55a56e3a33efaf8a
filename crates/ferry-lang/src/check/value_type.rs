//! The types of values the checker knows, as fields declare them and as expressions have
//! them.

/// What a field, argument or attribute accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Any,
    Bool,
    Duration,
    /// One of a few words, written bare (`rollback`) or as a string; case-insensitive.
    Enum(&'static [&'static str]),
    /// A gate: `http(…)` or `script(…)`.
    Gate,
    /// An image: a `build` step's name or an image reference string.
    Image,
    Integer,
    List(&'static ValueType),
    Map(&'static ValueType),
    Percentage,
    /// A deployment: an `update` step.
    Deployment,
    /// Where to push: `ecr(…)` or `registry(…)`.
    Repository,
    /// An amount of CPU or memory: an integer or a string such as `"0.5 vCPU"`.
    Size,
    String,
    /// A task definition: a `register` step.
    TaskDefinition,
    /// Where a task definition starts from: `service(…)`, `family(…)` or `file(…)`.
    TaskDefinitionSource,
}

impl ValueType {
    /// The type in words, with an example where one helps.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            ValueType::Any => "any value".to_owned(),
            ValueType::Bool => "`true` or `false`".to_owned(),
            ValueType::Duration => "a duration such as `30s`".to_owned(),
            ValueType::Enum(words) => {
                let words: Vec<String> = words.iter().map(|word| format!("`{word}`")).collect();
                match words.as_slice() {
                    [init @ .., last] if !init.is_empty() => {
                        format!("one of {} or {last}", init.join(", "))
                    }
                    _ => words.join(""),
                }
            }
            ValueType::Gate => "a gate (`http(…)` or `script(…)`)".to_owned(),
            ValueType::Image => "an image (a `build` step or an image reference string)".to_owned(),
            ValueType::Integer => "an integer".to_owned(),
            ValueType::List(inner) => format!("a list of {}", inner.plural()),
            ValueType::Map(inner) => format!("a map of {}", inner.plural()),
            ValueType::Percentage => "a percentage such as `100%`".to_owned(),
            ValueType::Deployment => "a deployment (an `update` step)".to_owned(),
            ValueType::Repository => "a repository (`ecr(…)` or `registry(…)`)".to_owned(),
            ValueType::Size => "a size (an integer or a string such as `\"1 vCPU\"`)".to_owned(),
            ValueType::String => "a string".to_owned(),
            ValueType::TaskDefinition => "a task definition (a `register` step)".to_owned(),
            ValueType::TaskDefinitionSource => {
                "a task-definition source (`service(…)`, `family(…)` or `file(…)`)".to_owned()
            }
        }
    }

    /// The type's short name, as the REPL prints it after a value.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            ValueType::Any => "value".to_owned(),
            ValueType::Bool => "bool".to_owned(),
            ValueType::Duration => "duration".to_owned(),
            ValueType::Enum(_) => "word".to_owned(),
            ValueType::Gate => "gate".to_owned(),
            ValueType::Image => "image".to_owned(),
            ValueType::Integer => "integer".to_owned(),
            ValueType::List(ValueType::Any) => "list".to_owned(),
            ValueType::Map(ValueType::Any) => "map".to_owned(),
            ValueType::List(inner) => format!("list of {}", inner.name()),
            ValueType::Map(inner) => format!("map of {}", inner.name()),
            ValueType::Percentage => "percentage".to_owned(),
            ValueType::Deployment => "deployment".to_owned(),
            ValueType::Repository => "repository".to_owned(),
            ValueType::Size => "size".to_owned(),
            ValueType::String => "string".to_owned(),
            ValueType::TaskDefinition => "task definition".to_owned(),
            ValueType::TaskDefinitionSource => "task-definition source".to_owned(),
        }
    }

    fn plural(self) -> String {
        match self {
            ValueType::Any => "values".to_owned(),
            ValueType::String => "strings".to_owned(),
            ValueType::Integer => "integers".to_owned(),
            other => other.describe(),
        }
    }

    /// Whether a value of type `actual` may stand where `self` is expected. `Any` on
    /// either side passes: its contents are checked when the value is known.
    #[must_use]
    pub fn accepts(self, actual: ValueType) -> bool {
        use ValueType as T;
        match (self, actual) {
            (T::Any, _)
            | (_, T::Any)
            | (T::Image, T::String | T::Image)
            | (T::Size, T::Integer | T::String | T::Size)
            | (T::Enum(_), T::String)
            | (T::List(_), T::List(_))
            | (T::Map(_), T::Map(_)) => true,
            (expected, actual) => expected == actual,
        }
    }

    /// Whether a value of this type can be spliced into a string with `${…}`.
    #[must_use]
    pub fn interpolates(self) -> bool {
        matches!(
            self,
            ValueType::Any
                | ValueType::Bool
                | ValueType::Duration
                | ValueType::Enum(_)
                | ValueType::Image
                | ValueType::Integer
                | ValueType::Percentage
                | ValueType::Size
                | ValueType::String
                | ValueType::TaskDefinition
        )
    }
}
