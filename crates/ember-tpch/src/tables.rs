//! The eight TPC-H tables: names, schemas as written to disk, and the DDL that registers them.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result};
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

/// The TPC-H table names, smallest first; each is also the folder name under a data directory.
pub const TABLES: [&str; 8] = [
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];

/// How generated tables are stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// Snappy-compressed Parquet files, one or more per table.
    Parquet,
    /// `|`-separated text with a header line, one or more files per table.
    Csv,
}

impl DataFormat {
    /// The file extension (and the Spark `USING` source name) of this format.
    pub fn extension(self) -> &'static str {
        match self {
            DataFormat::Parquet => "parquet",
            DataFormat::Csv => "csv",
        }
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for DataFormat {
    type Err = EmberError;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "parquet" => Ok(DataFormat::Parquet),
            "csv" => Ok(DataFormat::Csv),
            other => Err(EmberError::Config(format!(
                "unknown TPC-H data format '{other}': use 'parquet' or 'csv'"
            ))),
        }
    }
}

/// One TPC-H table, tied to its `tpchgen` generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TpchTable {
    Region,
    Nation,
    Supplier,
    Customer,
    Part,
    PartSupp,
    Orders,
    LineItem,
}

/// A boxed stream of generated batches, as `tpchgen-arrow` produces them (strings as Utf8View).
pub(crate) type BatchIter =
    Box<dyn Iterator<Item = std::result::Result<RecordBatch, arrow::error::ArrowError>>>;

impl TpchTable {
    /// Every table, in the order of [`TABLES`].
    pub(crate) const ALL: [TpchTable; 8] = [
        TpchTable::Region,
        TpchTable::Nation,
        TpchTable::Supplier,
        TpchTable::Customer,
        TpchTable::Part,
        TpchTable::PartSupp,
        TpchTable::Orders,
        TpchTable::LineItem,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            TpchTable::Region => "region",
            TpchTable::Nation => "nation",
            TpchTable::Supplier => "supplier",
            TpchTable::Customer => "customer",
            TpchTable::Part => "part",
            TpchTable::PartSupp => "partsupp",
            TpchTable::Orders => "orders",
            TpchTable::LineItem => "lineitem",
        }
    }

    pub(crate) fn from_name(name: &str) -> Result<Self> {
        let lower = name.trim().to_ascii_lowercase();
        TpchTable::ALL
            .into_iter()
            .find(|table| table.name() == lower)
            .ok_or_else(|| {
                EmberError::analysis(format!(
                    "'{name}' is not a TPC-H table; the tables are: {}",
                    TABLES.join(", ")
                ))
            })
    }

    /// The schema `tpchgen-arrow` generates (strings as Utf8View).
    fn generated_schema(self) -> SchemaRef {
        match self {
            TpchTable::Region => RegionArrow::schema_ref(),
            TpchTable::Nation => NationArrow::schema_ref(),
            TpchTable::Supplier => SupplierArrow::schema_ref(),
            TpchTable::Customer => CustomerArrow::schema_ref(),
            TpchTable::Part => PartArrow::schema_ref(),
            TpchTable::PartSupp => PartSuppArrow::schema_ref(),
            TpchTable::Orders => OrderArrow::schema_ref(),
            TpchTable::LineItem => LineItemArrow::schema_ref(),
        }
    }

    /// The schema of the files on disk: the generated one with Utf8View turned into Utf8, so
    /// that readers without view-type support can read them.
    pub(crate) fn written_schema(self) -> SchemaRef {
        let generated = self.generated_schema();
        let fields: Vec<Field> = generated
            .fields()
            .iter()
            .map(|field| {
                let data_type = match field.data_type() {
                    DataType::Utf8View => DataType::Utf8,
                    other => other.clone(),
                };
                Field::new(field.name(), data_type, field.is_nullable())
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// About how many rows the table has at this scale factor (exact except for lineitem,
    /// which averages four lines per order).
    pub(crate) fn estimated_rows(self, scale_factor: f64) -> u64 {
        let rows = match self {
            TpchTable::Region => 5,
            TpchTable::Nation => 25,
            TpchTable::Supplier => SupplierGenerator::calculate_row_count(scale_factor, 1, 1),
            TpchTable::Customer => CustomerGenerator::calculate_row_count(scale_factor, 1, 1),
            TpchTable::Part => PartGenerator::calculate_row_count(scale_factor, 1, 1),
            TpchTable::PartSupp => PartSuppGenerator::calculate_row_count(scale_factor, 1, 1),
            TpchTable::Orders => OrderGenerator::calculate_row_count(scale_factor, 1, 1),
            TpchTable::LineItem => OrderGenerator::calculate_row_count(scale_factor, 1, 1) * 4,
        };
        u64::try_from(rows).unwrap_or(0)
    }

    /// The batches of generator part `part` (1-based) out of `parts`.
    pub(crate) fn batches(self, scale_factor: f64, part: i32, parts: i32) -> BatchIter {
        let (sf, p, n) = (scale_factor, part, parts);
        match self {
            TpchTable::Region => Box::new(RegionArrow::new(RegionGenerator::new(sf, p, n))),
            TpchTable::Nation => Box::new(NationArrow::new(NationGenerator::new(sf, p, n))),
            TpchTable::Supplier => Box::new(SupplierArrow::new(SupplierGenerator::new(sf, p, n))),
            TpchTable::Customer => Box::new(CustomerArrow::new(CustomerGenerator::new(sf, p, n))),
            TpchTable::Part => Box::new(PartArrow::new(PartGenerator::new(sf, p, n))),
            TpchTable::PartSupp => Box::new(PartSuppArrow::new(PartSuppGenerator::new(sf, p, n))),
            TpchTable::Orders => Box::new(OrderArrow::new(OrderGenerator::new(sf, p, n))),
            TpchTable::LineItem => Box::new(LineItemArrow::new(LineItemGenerator::new(sf, p, n))),
        }
    }
}

/// The schema of a table's files as [`crate::generate`] writes them: TPC-H column names,
/// BIGINT keys, INT for `l_linenumber`/`p_size`/`ps_availqty`/`o_shippriority`,
/// `Decimal128(15, 2)` money and quantities, `Date32` dates, `Utf8` text.
pub fn table_schema(table: &str) -> Result<SchemaRef> {
    Ok(TpchTable::from_name(table)?.written_schema())
}

/// The Spark SQL statement that registers `table` over its folder in `data_dir`.
///
/// Parquet tables take their schema from the files:
/// `CREATE TABLE lineitem USING parquet LOCATION '<data_dir>/lineitem'`.
/// CSV tables list every column with its type so nothing has to be inferred:
/// `CREATE TABLE region (r_regionkey BIGINT, r_name STRING, r_comment STRING) USING csv
/// OPTIONS (header 'true', sep '|') LOCATION '<data_dir>/region'` (on one line).
pub fn table_ddl(table: &str, data_dir: &Path, format: DataFormat) -> Result<String> {
    let tpch_table = TpchTable::from_name(table)?;
    let name = tpch_table.name();
    let location = sql_string_literal(&data_dir.join(name).to_string_lossy());
    match format {
        DataFormat::Parquet => Ok(format!(
            "CREATE TABLE {name} USING parquet LOCATION {location}"
        )),
        DataFormat::Csv => {
            let schema = tpch_table.written_schema();
            let columns = schema
                .fields()
                .iter()
                .map(|field| {
                    Ok(format!(
                        "{} {}",
                        field.name(),
                        spark_type(field.data_type())?
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(format!(
                "CREATE TABLE {name} ({}) USING csv OPTIONS (header 'true', sep '|') LOCATION {location}",
                columns.join(", ")
            ))
        }
    }
}

/// The Spark SQL type name of an Arrow type that TPC-H tables use.
fn spark_type(data_type: &DataType) -> Result<String> {
    match data_type {
        DataType::Int64 => Ok("BIGINT".to_string()),
        DataType::Int32 => Ok("INT".to_string()),
        DataType::Decimal128(precision, scale) => Ok(format!("DECIMAL({precision},{scale})")),
        DataType::Date32 => Ok("DATE".to_string()),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => Ok("STRING".to_string()),
        other => Err(EmberError::internal(format!(
            "TPC-H column type {other} has no Spark SQL name in ember-tpch"
        ))),
    }
}

/// A single-quoted Spark SQL string literal (Spark escapes with backslashes).
fn sql_string_literal(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_schema_has_utf8_strings_and_tpch_types() {
        let schema = table_schema("lineitem").unwrap();
        assert_eq!(schema.fields().len(), 16);
        assert_eq!(
            schema.field_with_name("l_orderkey").unwrap().data_type(),
            &DataType::Int64
        );
        assert_eq!(
            schema.field_with_name("l_linenumber").unwrap().data_type(),
            &DataType::Int32
        );
        assert_eq!(
            schema
                .field_with_name("l_extendedprice")
                .unwrap()
                .data_type(),
            &DataType::Decimal128(15, 2)
        );
        assert_eq!(
            schema.field_with_name("l_shipdate").unwrap().data_type(),
            &DataType::Date32
        );
        assert_eq!(
            schema.field_with_name("l_comment").unwrap().data_type(),
            &DataType::Utf8
        );
        for table in TABLES {
            let schema = table_schema(table).unwrap();
            assert!(
                schema
                    .fields()
                    .iter()
                    .all(|f| f.data_type() != &DataType::Utf8View),
                "{table} still has Utf8View columns"
            );
        }
    }

    #[test]
    fn parquet_ddl_points_at_the_table_folder() {
        let ddl = table_ddl(
            "orders",
            Path::new("/data/sf1-parquet"),
            DataFormat::Parquet,
        )
        .unwrap();
        assert_eq!(
            ddl,
            "CREATE TABLE orders USING parquet LOCATION '/data/sf1-parquet/orders'"
        );
    }

    #[test]
    fn csv_ddl_lists_every_column_with_its_type() {
        let ddl = table_ddl("region", Path::new("/d"), DataFormat::Csv).unwrap();
        assert_eq!(
            ddl,
            "CREATE TABLE region (r_regionkey BIGINT, r_name STRING, r_comment STRING) \
             USING csv OPTIONS (header 'true', sep '|') LOCATION '/d/region'"
        );
        let lineitem = table_ddl("LINEITEM", Path::new("/d"), DataFormat::Csv).unwrap();
        assert!(lineitem.contains("l_quantity DECIMAL(15,2)"), "{lineitem}");
        assert!(lineitem.contains("l_shipdate DATE"), "{lineitem}");
        assert!(lineitem.contains("l_linenumber INT,"), "{lineitem}");
    }

    #[test]
    fn ddl_escapes_quotes_and_rejects_unknown_tables() {
        let ddl = table_ddl("nation", Path::new("/it's"), DataFormat::Parquet).unwrap();
        assert!(ddl.ends_with(r"LOCATION '/it\'s/nation'"), "{ddl}");
        let error = table_ddl("lineitems", Path::new("/d"), DataFormat::Csv).unwrap_err();
        assert!(error
            .to_string()
            .contains("'lineitems' is not a TPC-H table"));
    }

    #[test]
    fn data_format_parses_and_prints() {
        assert_eq!(
            "Parquet".parse::<DataFormat>().unwrap(),
            DataFormat::Parquet
        );
        assert_eq!("csv".parse::<DataFormat>().unwrap(), DataFormat::Csv);
        assert_eq!(DataFormat::Csv.to_string(), "csv");
        assert!("tbl".parse::<DataFormat>().is_err());
    }
}
