use std::collections::BTreeMap;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion_common::JoinType;
use datafusion_expr::{col, lit, LogicalPlanBuilder};
use datafusion_physical_expr::expressions::{BinaryExpr, Column, Literal};
use ember_common::ShuffleId;
use ember_core::{CachedRdd, ParallelCollectionRdd, StorageLevel, TaskContext};
use ember_datasource::{FileFormat, FileTable, FileTableSource};
use ember_physical::expressions::PhysicalExprRef;
use ember_physical::operators::cached_scan::{CachedScanExec, CachedTableSource};
use ember_physical::operators::exchange::{ExchangeExec, ShuffleReadExec};
use ember_physical::operators::filter::FilterExec;
use ember_physical::operators::hash_aggregate::{AggregateMode, HashAggregateExec};
use ember_physical::operators::hash_join::{BuildSide, HashJoinExec, JoinMode};
use ember_physical::operators::limit::LimitExec;
use ember_physical::operators::nested_loop_join::NestedLoopJoinExec;
use ember_physical::operators::projection::ProjectExec;
use ember_physical::operators::scan::ScanExec;
use ember_physical::operators::sort::{SortExec, SortKey};
use ember_physical::operators::union::UnionExec;
use ember_physical::operators::values::ValuesExec;
use ember_physical::operators::window::WindowExec;
use ember_physical::plan::display_plan;
use ember_physical::stages::PlanRdd;
use ember_physical::{Partitioning, PhysicalPlanner};

use super::helpers::downcast;
use super::*;

fn column(name: &str, index: usize) -> PhysicalExprRef {
    Arc::new(Column::new(name, index))
}

fn binary(
    left: PhysicalExprRef,
    op: datafusion_expr::Operator,
    right: PhysicalExprRef,
) -> PhysicalExprRef {
    Arc::new(BinaryExpr::new(left, op, right))
}

fn literal(value: i64) -> PhysicalExprRef {
    Arc::new(Literal::new(datafusion_common::ScalarValue::Int64(Some(
        value,
    ))))
}

/// `(id, name)` rows `ids`, names `n<id>` (every third NULL).
fn values(ids: &[i64]) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let names: StringArray = ids
        .iter()
        .map(|i| (i % 3 != 0).then(|| format!("n{i}")))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(names)],
    )?;
    Ok(Arc::new(ValuesExec::new(schema, vec![batch])))
}

fn round_trip(plan: &Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan_from_bytes(&plan_to_bytes(plan)?)
}

/// Every partition's batches.
fn run(plan: &Arc<dyn ExecutionPlan>) -> Result<Vec<Vec<RecordBatch>>> {
    let cx = TaskContext::for_tests();
    (0..plan.output_partitioning().partition_count())
        .map(|p| plan.execute(p, &cx)?.collect::<Result<Vec<_>>>())
        .collect()
}

fn has_exchange(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.name() == "ExchangeExec" || plan.children().iter().any(has_exchange)
}

/// The fragments of `plan` that run as they are: the root and the inputs of exchanges,
/// when they hold no exchange themselves.
fn runnable(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<Arc<dyn ExecutionPlan>>) {
    if !has_exchange(plan) {
        out.push(Arc::clone(plan));
        return;
    }
    for child in plan.children() {
        runnable(&child, out);
    }
}

/// Same text, same batches in every partition of every runnable fragment; returns how
/// many rows the fragments produced.
fn assert_same(plan: &Arc<dyn ExecutionPlan>) -> Result<usize> {
    let decoded = round_trip(plan)?;
    assert_eq!(display_plan(decoded.as_ref()), display_plan(plan.as_ref()));
    assert_eq!(decoded.schema(), plan.schema());
    let (mut expected, mut actual) = (Vec::new(), Vec::new());
    runnable(plan, &mut expected);
    runnable(&decoded, &mut actual);
    assert_eq!(expected.len(), actual.len());
    let mut rows = 0;
    for (e, a) in expected.iter().zip(&actual) {
        let want = run(e)?;
        assert_eq!(run(a)?, want, "{}", display_plan(e.as_ref()));
        rows += want.iter().flatten().map(|b| b.num_rows()).sum::<usize>();
    }
    Ok(rows)
}

#[test]
fn single_input_operators_round_trip() -> Result<()> {
    use datafusion_expr::Operator;
    let input = values(&[5, 1, 4, 2, 3, 9, 0])?;
    let filter: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::new(
        binary(column("id", 0), Operator::Gt, literal(0)),
        input,
    ));
    let project: Arc<dyn ExecutionPlan> = Arc::new(ProjectExec::try_new(
        vec![
            (
                binary(column("id", 0), Operator::Multiply, literal(10)),
                "tens".to_string(),
            ),
            (column("name", 1), "name".to_string()),
        ],
        filter,
    )?);
    let keys = vec![
        SortKey {
            expr: column("name", 1),
            ascending: false,
            nulls_first: true,
        },
        SortKey {
            expr: column("tens", 0),
            ascending: true,
            nulls_first: false,
        },
    ];
    let sort: Arc<dyn ExecutionPlan> =
        Arc::new(SortExec::new(keys.clone(), None, Arc::clone(&project)));
    assert_eq!(assert_same(&sort)?, 6);
    let top_k: Arc<dyn ExecutionPlan> = Arc::new(SortExec::new(keys, Some(3), project));
    assert!(display_plan(top_k.as_ref()).starts_with("TopKExec: k=3"));
    assert_eq!(assert_same(&top_k)?, 3);
    let limit: Arc<dyn ExecutionPlan> = Arc::new(LimitExec::new(1, Some(2), top_k));
    assert_eq!(assert_same(&limit)?, 2);
    let union: Arc<dyn ExecutionPlan> = Arc::new(UnionExec::try_new(
        vec![values(&[1, 2])?, values(&[3])?, limit],
        Arc::new(Schema::new(vec![
            Field::new("x", DataType::Int64, false),
            Field::new("y", DataType::Utf8, true),
        ])),
    )?);
    assert_eq!(union.output_partitioning().partition_count(), 3);
    assert_eq!(assert_same(&union)?, 5);
    Ok(())
}

#[test]
fn joins_round_trip_with_keys_filters_types_and_sides() -> Result<()> {
    use datafusion_expr::Operator;
    let left = values(&[1, 2, 3, 4, 5, 6])?;
    let right = values(&[2, 4, 6, 8])?;
    // Residual filter over left then right columns: left.id > 2.
    let filter = binary(column("id", 0), Operator::Gt, literal(2));
    for (join_type, build_side) in [
        (JoinType::Inner, BuildSide::Right),
        (JoinType::Left, BuildSide::Right),
        (JoinType::Full, BuildSide::Left),
        (JoinType::LeftAnti, BuildSide::Right),
        (JoinType::RightSemi, BuildSide::Left),
    ] {
        let join: Arc<dyn ExecutionPlan> = Arc::new(HashJoinExec::try_new(
            Arc::clone(&left),
            Arc::clone(&right),
            vec![(column("id", 0), column("id", 0))],
            Some(Arc::clone(&filter)),
            join_type,
            build_side,
            JoinMode::Partitioned,
        )?);
        let decoded = round_trip(&join)?;
        let decoded = downcast::<HashJoinExec>(&decoded)?;
        assert_eq!(decoded.join_type(), join_type);
        assert_eq!(decoded.build_side(), build_side);
        assert_eq!(decoded.mode(), JoinMode::Partitioned);
        assert!(assert_same(&join)? > 0, "{join_type}");
    }
    let collect: Arc<dyn ExecutionPlan> = Arc::new(HashJoinExec::try_new(
        Arc::clone(&left),
        Arc::clone(&right),
        vec![(column("id", 0), column("id", 0))],
        None,
        JoinType::Inner,
        BuildSide::Right,
        JoinMode::CollectBuild,
    )?);
    assert_eq!(
        downcast::<HashJoinExec>(&round_trip(&collect)?)?.mode(),
        JoinMode::CollectBuild
    );
    assert_eq!(assert_same(&collect)?, 3);
    // Nested loop: left.id < right.id (right.id is column 2 of the joined schema).
    let nested: Arc<dyn ExecutionPlan> = Arc::new(NestedLoopJoinExec::try_new(
        left,
        right,
        Some(binary(column("id", 0), Operator::Lt, column("id", 2))),
        JoinType::Left,
    )?);
    assert_eq!(
        downcast::<NestedLoopJoinExec>(&round_trip(&nested)?)?.join_type(),
        JoinType::Left
    );
    // 1..6 against 2,4,6,8: 4+3+3+2+2+1 pairs, every left row matches something.
    assert_eq!(assert_same(&nested)?, 15);
    Ok(())
}

#[test]
fn exchanges_and_shuffle_reads_keep_their_partitioning() -> Result<()> {
    let input = values(&[1, 2, 3])?;
    for partitioning in [
        Partitioning::Hash(vec![column("name", 1), column("id", 0)], 7),
        Partitioning::Single,
        Partitioning::Unknown(3),
    ] {
        let exchange: Arc<dyn ExecutionPlan> =
            Arc::new(ExchangeExec::new(Arc::clone(&input), partitioning.clone()));
        let read: Arc<dyn ExecutionPlan> = Arc::new(ShuffleReadExec::new(
            ShuffleId(42),
            input.schema(),
            partitioning.clone(),
        ));
        for plan in [exchange, read] {
            let decoded = round_trip(&plan)?;
            assert_eq!(display_plan(decoded.as_ref()), display_plan(plan.as_ref()));
            assert_eq!(
                format!("{:?}", decoded.output_partitioning()),
                format!("{partitioning:?}")
            );
        }
    }
    let read: Arc<dyn ExecutionPlan> = Arc::new(ShuffleReadExec::new(
        ShuffleId(42),
        input.schema(),
        Partitioning::Single,
    ));
    let decoded = round_trip(&read)?;
    assert_eq!(
        downcast::<ShuffleReadExec>(&decoded)?.shuffle_id(),
        ShuffleId(42)
    );
    assert_eq!(decoded.schema(), input.schema());
    Ok(())
}

fn write_tables(dir: &std::path::Path) -> Result<()> {
    let io = |e| EmberError::io(dir.display().to_string(), e);
    std::fs::create_dir_all(dir.join("csv")).map_err(io)?;
    std::fs::write(
        dir.join("csv/a.csv"),
        "id,name\n1,ann\n2,bob\n3,\n4,dan\n5,eve\n",
    )
    .map_err(io)?;
    std::fs::create_dir_all(dir.join("parquet")).map_err(io)?;
    let Some(values) = values(&[10, 11, 12, 13, 14])?
        .as_any_ref()
        .downcast_ref::<ValuesExec>()
        .map(|v| v.batches().to_vec())
    else {
        return Err(EmberError::internal("values"));
    };
    ember_datasource::write_parquet_iter(
        &dir.join("parquet/a.parquet"),
        values[0].schema(),
        values.into_iter().map(Ok),
        2,
    )?;
    Ok(())
}

#[test]
fn scans_read_the_same_splits_without_listing_again() -> Result<()> {
    use datafusion_expr::Operator;
    let dir = tempfile::tempdir().map_err(|e| EmberError::io("tempdir", e))?;
    write_tables(dir.path())?;
    let options: BTreeMap<String, String> = [
        ("header".to_string(), "true".to_string()),
        ("inferSchema".to_string(), "true".to_string()),
    ]
    .into();
    for (sub, format, options, expected_rows) in [
        ("csv", FileFormat::Csv, options, 3),
        ("parquet", FileFormat::Parquet, BTreeMap::new(), 4),
    ] {
        let location = dir.path().join(sub).to_string_lossy().to_string();
        let table = Arc::new(FileTable::try_new(&location, format, &options, None, 1)?);
        // CSV inference reads `id` as Int32.
        let first = if format == FileFormat::Csv { 2 } else { 10 };
        let bound: PhysicalExprRef = Arc::new(Literal::new(
            datafusion_common::ScalarValue::Int64(Some(first))
                .cast_to(table.schema().field(0).data_type())?,
        ));
        // Projection (name, id) and a pushed filter on the projected id (column 1).
        let scan: Arc<dyn ExecutionPlan> = Arc::new(ScanExec::try_new(
            "t".to_string(),
            Arc::clone(&table),
            Some(vec![1, 0]),
            vec![binary(column("id", 1), Operator::Gt, bound)],
        )?);
        let bytes = plan_to_bytes(&scan)?;
        // Files added after planning must not be read by the decoded scan.
        let extra = dir.path().join(sub).join(format!("z.{sub}"));
        std::fs::copy(dir.path().join(sub).join(format!("a.{sub}")), &extra)
            .map_err(|e| EmberError::io(extra.display().to_string(), e))?;
        let decoded = plan_from_bytes(&bytes)?;
        let decoded_table = downcast::<ScanExec>(&decoded)?.table();
        assert_eq!(decoded_table.to_parts(), table.to_parts());
        assert_eq!(decoded_table.num_files(), 1);
        assert!(table.splits().len() > 1 || format == FileFormat::Csv);
        assert_eq!(display_plan(decoded.as_ref()), display_plan(scan.as_ref()));
        let rows: usize = run(&decoded)?.iter().flatten().map(|b| b.num_rows()).sum();
        assert_eq!(rows, expected_rows, "{sub}");
        assert_eq!(run(&decoded)?, run(&scan)?, "{sub}");
        std::fs::remove_file(&extra).map_err(|e| EmberError::io(extra.display().to_string(), e))?;
    }
    Ok(())
}

#[test]
fn planned_queries_round_trip() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| EmberError::io("tempdir", e))?;
    write_tables(dir.path())?;
    let location = dir.path().join("parquet").to_string_lossy().to_string();
    let table = Arc::new(FileTable::try_new(
        &location,
        FileFormat::Parquet,
        &BTreeMap::new(),
        None,
        1,
    )?);
    let source = Arc::new(FileTableSource { table });
    let scan =
        |name: &str| LogicalPlanBuilder::scan(name, source.clone(), None).map_err(EmberError::from);
    let plan = scan("t")?
        .filter(col("id").gt(lit(10i64)))?
        .project(vec![col("name"), (col("id") + lit(1i64)).alias("next")])?
        .sort(vec![col("next").sort(false, true)])?
        .limit(1, Some(2))?
        .build()?;
    let physical = PhysicalPlanner::new(3).create_physical_plan(&plan)?;
    assert!(has_exchange(&physical));
    assert!(assert_same(&physical)? > 0);

    let right = scan("r")?.build()?;
    let joined = scan("t")?
        .join(right, JoinType::Inner, (vec!["id"], vec!["id"]), None)?
        .build()?;
    let physical = PhysicalPlanner::new(2).create_physical_plan(&joined)?;
    assert!(display_plan(physical.as_ref()).contains("HashJoinExec"));
    assert!(assert_same(&physical)? > 0);
    Ok(())
}

#[test]
fn aggregations_round_trip_in_every_mode() -> Result<()> {
    use datafusion_expr::Operator;
    use datafusion_functions_aggregate::expr_fn::{count, max, sum};
    let rows: Vec<Vec<datafusion_expr::Expr>> = [(1, "a"), (2, "b"), (3, "a"), (4, "a")]
        .iter()
        .map(|(v, k)| vec![lit(*k), lit(*v as i64)])
        .collect();
    let logical = LogicalPlanBuilder::values(rows)?
        .aggregate(
            vec![col("column1")],
            vec![
                sum(col("column2")),
                count(col("column2")),
                max(col("column2")),
            ],
        )?
        .build()?;
    let planned = PhysicalPlanner::new(4).create_physical_plan(&logical)?;
    assert!(display_plan(planned.as_ref()).contains("mode=Final"));
    // The runnable fragment is the Partial aggregation: 2 groups.
    assert_eq!(assert_same(&planned)?, 2);

    let exchange = planned
        .children()
        .pop()
        .ok_or_else(|| EmberError::internal("no exchange"))?;
    let partial = exchange
        .children()
        .pop()
        .ok_or_else(|| EmberError::internal("no partial"))?;
    let partial_exec = downcast::<HashAggregateExec>(&partial)?;
    assert_eq!(partial_exec.mode(), AggregateMode::Partial);
    // Final straight over the (one-partition) Partial: runnable without a shuffle.
    let final_step: Arc<dyn ExecutionPlan> = Arc::new(HashAggregateExec::final_for(
        partial_exec,
        Arc::clone(&partial),
    )?);
    assert_eq!(assert_same(&final_step)?, 2);
    let decoded = round_trip(&final_step)?;
    assert_eq!(
        downcast::<HashAggregateExec>(&decoded)?.raw_input_schema(),
        partial_exec.raw_input_schema()
    );
    // Single with a FILTER on the first aggregate: sum(v) FILTER (WHERE v > 1).
    let input = partial
        .children()
        .pop()
        .ok_or_else(|| EmberError::internal("no input"))?;
    let single: Arc<dyn ExecutionPlan> = Arc::new(HashAggregateExec::try_new(
        AggregateMode::Single,
        partial_exec.group_exprs().to_vec(),
        partial_exec.aggregates().to_vec(),
        vec![
            Some(binary(column("column2", 1), Operator::Gt, literal(1))),
            None,
            None,
        ],
        input,
    )?);
    assert!(display_plan(single.as_ref()).contains("FILTER"));
    assert_eq!(assert_same(&single)?, 2);
    Ok(())
}

#[test]
fn window_functions_round_trip() -> Result<()> {
    use datafusion_expr::WindowFunctionDefinition;
    use datafusion_expr::{WindowFrame, WindowFrameBound, WindowFrameUnits};
    use ember_physical::operators::window::WindowFunctionCall;
    let input = values(&[5, 1, 4, 2, 3, 9, 7])?;
    let partition_key = SortKey {
        expr: column("name", 1),
        ascending: true,
        nulls_first: true,
    };
    let order_key = SortKey {
        expr: column("id", 0),
        ascending: false,
        nulls_first: false,
    };
    let sorted: Arc<dyn ExecutionPlan> = Arc::new(SortExec::new(
        vec![partition_key, order_key.clone()],
        None,
        input,
    ));
    let frame = WindowFrame::new_bounds(
        WindowFrameUnits::Rows,
        WindowFrameBound::Preceding(datafusion_common::ScalarValue::UInt64(Some(1))),
        WindowFrameBound::Following(datafusion_common::ScalarValue::UInt64(Some(1))),
    );
    let calls = vec![
        WindowFunctionCall {
            function: WindowFunctionDefinition::WindowUDF(
                datafusion_functions_window::row_number::row_number_udwf(),
            ),
            args: vec![],
            name: "rn".to_string(),
            frame: WindowFrame::new(Some(false)),
            ignore_nulls: false,
            distinct: false,
            filter: None,
        },
        WindowFunctionCall {
            function: WindowFunctionDefinition::AggregateUDF(
                datafusion_functions_aggregate::sum::sum_udaf(),
            ),
            args: vec![column("id", 0)],
            name: "moving".to_string(),
            frame,
            ignore_nulls: false,
            distinct: false,
            filter: None,
        },
    ];
    let window: Arc<dyn ExecutionPlan> = Arc::new(WindowExec::try_new(
        vec![column("name", 1)],
        vec![order_key],
        calls,
        sorted,
    )?);
    let decoded = round_trip(&window)?;
    let decoded_window = downcast::<WindowExec>(&decoded)?;
    assert_eq!(decoded_window.calls().len(), 2);
    assert_eq!(
        decoded_window.calls()[1].frame.units,
        WindowFrameUnits::Rows
    );
    assert_eq!(assert_same(&window)?, 7);
    Ok(())
}

#[test]
fn another_wire_version_is_refused() -> Result<()> {
    let plan = values(&[1])?;
    let mut envelope = pb::PlanEnvelope::decode(plan_to_bytes(&plan)?.as_slice())
        .map_err(|e| EmberError::internal(e.to_string()))?;
    assert_eq!(envelope.wire_version, WIRE_VERSION);
    envelope.wire_version = WIRE_VERSION + 1;
    let message = plan_from_bytes(&envelope.encode_to_vec())
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains(&format!("wire version {}", WIRE_VERSION + 1)),
        "{message}"
    );
    assert!(message.contains("same Ember build"), "{message}");
    let garbage = plan_from_bytes(&[0xff, 0xff, 0xff])
        .map(|_| ())
        .unwrap_err();
    assert!(garbage.to_string().contains("cannot decode"), "{garbage}");
    Ok(())
}

#[test]
fn cached_scans_travel_with_their_lineage() -> Result<()> {
    let plan = values(&[1, 2, 3])?;
    let schema = plan.schema();
    let parent = Arc::new(PlanRdd::new(ember_common::RddId(4), plan, Vec::new()));
    let rdd = Arc::new(CachedRdd::new(
        ember_common::RddId(5),
        parent,
        StorageLevel::MemoryAndDisk,
    ));
    let cached: Arc<dyn ExecutionPlan> = Arc::new(CachedScanExec::from_parts(
        "t".to_string(),
        rdd,
        schema,
        Some(vec![0]),
    )?);
    let decoded = round_trip(&cached)?;
    let scan = downcast::<CachedScanExec>(&decoded)?;
    assert_eq!(ember_core::Rdd::id(scan.rdd().as_ref()).0, 5);
    assert_eq!(scan.level(), StorageLevel::MemoryAndDisk);
    assert_eq!(run(&decoded)?, run(&cached)?);
    Ok(())
}

#[test]
fn cached_scans_of_other_rdds_cannot_travel() -> Result<()> {
    let plan = values(&[1, 2])?;
    let schema = plan.schema();
    let batches = run(&plan)?.concat();
    let parent = Arc::new(ParallelCollectionRdd::new(
        ember_common::RddId(1),
        Arc::clone(&schema),
        batches,
        1,
    )?);
    let rdd = Arc::new(CachedRdd::new(
        ember_common::RddId(2),
        parent,
        StorageLevel::MemoryOnly,
    ));
    let source = Arc::new(CachedTableSource {
        name: "people".to_string(),
        rdd,
        schema,
        shuffles: vec![],
        plan: Arc::new(LogicalPlanBuilder::empty(false).build()?),
    });
    let cached: Arc<dyn ExecutionPlan> = Arc::new(CachedScanExec::try_new(source, None)?);
    let filtered: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::new(
        Arc::new(Literal::new(datafusion_common::ScalarValue::Boolean(Some(
            true,
        )))),
        cached,
    ));
    let error = plan_to_bytes(&filtered).map(|_| ()).unwrap_err();
    assert!(matches!(error, EmberError::NotSupported(_)), "{error:?}");
    assert!(error.to_string().contains("cached table"), "{error}");
    Ok(())
}
