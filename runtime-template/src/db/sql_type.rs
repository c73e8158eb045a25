//! DuckDB's logical types as plain data, for type checks and result conversion.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    Boolean,
    TinyInt,
    SmallInt,
    Integer,
    BigInt,
    HugeInt,
    UTinyInt,
    USmallInt,
    UInteger,
    UBigInt,
    UHugeInt,
    Float,
    Double,
    Decimal(u8, u8),
    Varchar,
    Json,
    Blob,
    Bit,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Enum,
    BigNum,
    List(Box<SqlType>),
    Array(Box<SqlType>, u64),
    Struct(Vec<(String, SqlType)>),
    Map(Box<SqlType>, Box<SqlType>),
    Union(Vec<(String, SqlType)>),
    /// `NULL` literal (untyped).
    Null,
    /// A parameter whose type DuckDB could not infer.
    Unknown,
    Other(String),
}

impl SqlType {
    pub fn is_integer(&self) -> bool {
        use SqlType::*;
        matches!(
            self,
            TinyInt
                | SmallInt
                | Integer
                | BigInt
                | HugeInt
                | UTinyInt
                | USmallInt
                | UInteger
                | UBigInt
                | UHugeInt
                | BigNum
        ) || matches!(self, Decimal(_, 0))
    }
    pub fn is_numeric(&self) -> bool {
        self.is_integer() || matches!(self, SqlType::Float | SqlType::Double | SqlType::Decimal(..))
    }
    pub fn is_textual(&self) -> bool {
        use SqlType::*;
        matches!(
            self,
            Varchar | Enum | Uuid | Date | Time | TimeTz | Timestamp | TimestampTz | Interval | Blob | Bit | Json
        )
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SqlType::*;
        match self {
            Boolean => f.write_str("BOOLEAN"),
            TinyInt => f.write_str("TINYINT"),
            SmallInt => f.write_str("SMALLINT"),
            Integer => f.write_str("INTEGER"),
            BigInt => f.write_str("BIGINT"),
            HugeInt => f.write_str("HUGEINT"),
            UTinyInt => f.write_str("UTINYINT"),
            USmallInt => f.write_str("USMALLINT"),
            UInteger => f.write_str("UINTEGER"),
            UBigInt => f.write_str("UBIGINT"),
            UHugeInt => f.write_str("UHUGEINT"),
            Float => f.write_str("FLOAT"),
            Double => f.write_str("DOUBLE"),
            Decimal(w, s) => write!(f, "DECIMAL({w},{s})"),
            Varchar => f.write_str("VARCHAR"),
            Json => f.write_str("JSON"),
            Blob => f.write_str("BLOB"),
            Bit => f.write_str("BIT"),
            Date => f.write_str("DATE"),
            Time => f.write_str("TIME"),
            TimeTz => f.write_str("TIME WITH TIME ZONE"),
            Timestamp => f.write_str("TIMESTAMP"),
            TimestampTz => f.write_str("TIMESTAMP WITH TIME ZONE"),
            Interval => f.write_str("INTERVAL"),
            Uuid => f.write_str("UUID"),
            Enum => f.write_str("ENUM"),
            BigNum => f.write_str("BIGNUM"),
            List(c) => write!(f, "{c}[]"),
            Array(c, n) => write!(f, "{c}[{n}]"),
            Struct(fields) | Union(fields) => {
                f.write_str(if matches!(self, Struct(_)) { "STRUCT(" } else { "UNION(" })?;
                for (i, (name, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name} {t}")?;
                }
                f.write_str(")")
            }
            Map(k, v) => write!(f, "MAP({k}, {v})"),
            Null => f.write_str("NULL"),
            Unknown => f.write_str("UNKNOWN"),
            Other(s) => f.write_str(s),
        }
    }
}
