//! The session catalog: tables (shared by every session) and temporary views (per session).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion_expr::{LogicalPlan, TableSource};
use ember_common::{EmberError, Result};
use ember_datasource::FileTable;
use parking_lot::RwLock;

/// What a name in the catalog stands for.
#[derive(Debug, Clone)]
pub enum CatalogEntry {
    /// A table over files.
    Table(Arc<FileTable>),
    /// A view: its analyzed logical plan, as Spark keeps temporary views.
    View(Arc<LogicalPlan>),
}

/// Tables are global; temporary views belong to the session that created them. Cached
/// tables (CACHE TABLE) are read from their cached data instead, by every session.
#[derive(Clone, Default)]
pub struct SessionCatalog {
    tables: Arc<RwLock<BTreeMap<String, CatalogEntry>>>,
    temp_views: Arc<RwLock<BTreeMap<String, CatalogEntry>>>,
    /// Cached tables, seen by every session.
    cached: Arc<RwLock<BTreeMap<String, Arc<dyn TableSource>>>>,
    /// Cached temporary views of this session (another session's view of the same name is
    /// another view).
    cached_views: Arc<RwLock<BTreeMap<String, Arc<dyn TableSource>>>>,
}

impl std::fmt::Debug for SessionCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCatalog")
            .field("tables", &self.tables.read().keys().collect::<Vec<_>>())
            .field(
                "temp_views",
                &self.temp_views.read().keys().collect::<Vec<_>>(),
            )
            .field("cached", &self.cached.read().keys().collect::<Vec<_>>())
            .field(
                "cached_views",
                &self.cached_views.read().keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Names are case-insensitive, as in Spark.
pub fn normalize_name(name: &str) -> String {
    name.to_lowercase()
}

impl SessionCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// A catalog for a new session: the same tables, no temporary views.
    pub fn new_session(&self) -> Self {
        SessionCatalog {
            tables: Arc::clone(&self.tables),
            temp_views: Arc::default(),
            cached: Arc::clone(&self.cached),
            cached_views: Arc::default(),
        }
    }

    /// Temporary views shadow tables of the same name, as in Spark.
    pub fn lookup(&self, name: &str) -> Option<CatalogEntry> {
        let key = normalize_name(name);
        if let Some(view) = self.temp_views.read().get(&key) {
            return Some(view.clone());
        }
        self.tables.read().get(&key).cloned()
    }

    /// Where the cache of `name` lives: this session's temporary views shadow tables.
    fn cache_map(&self, key: &str) -> &Arc<RwLock<BTreeMap<String, Arc<dyn TableSource>>>> {
        if self.temp_views.read().contains_key(key) {
            &self.cached_views
        } else {
            &self.cached
        }
    }

    /// The cached data standing for `name`, if it is cached.
    pub fn cached(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        let key = normalize_name(name);
        self.cache_map(&key).read().get(&key).cloned()
    }

    /// Reads `name` from `source` from now on (CACHE TABLE); returns what it replaced.
    pub fn cache(&self, name: &str, source: Arc<dyn TableSource>) -> Option<Arc<dyn TableSource>> {
        let key = normalize_name(name);
        self.cache_map(&key).write().insert(key, source)
    }

    /// Stops reading `name` from cached data; returns the cached source, if there was one.
    pub fn uncache(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        let key = normalize_name(name);
        self.cache_map(&key).write().remove(&key)
    }

    /// Every cached name this session sees and its source (CLEAR CACHE).
    pub fn cached_all(&self) -> Vec<(String, Arc<dyn TableSource>)> {
        let mut all: Vec<(String, Arc<dyn TableSource>)> = self
            .cached_views
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        all.extend(
            self.cached
                .read()
                .iter()
                .map(|(k, v)| (k.clone(), Arc::clone(v))),
        );
        all
    }

    pub fn register_table(&self, name: &str, table: Arc<FileTable>, replace: bool) -> Result<()> {
        let key = normalize_name(name);
        let mut tables = self.tables.write();
        if !replace && tables.contains_key(&key) {
            return Err(EmberError::analysis(format!(
                "Table {name} already exists; use CREATE TABLE IF NOT EXISTS, or DROP TABLE {name} first"
            )));
        }
        tables.insert(key, CatalogEntry::Table(table));
        Ok(())
    }

    pub fn table_exists(&self, name: &str) -> bool {
        self.tables.read().contains_key(&normalize_name(name))
    }

    pub fn register_view(
        &self,
        name: &str,
        plan: LogicalPlan,
        temporary: bool,
        replace: bool,
    ) -> Result<()> {
        let key = normalize_name(name);
        let mut map = if temporary {
            self.temp_views.write()
        } else {
            self.tables.write()
        };
        if !replace && map.contains_key(&key) {
            return Err(EmberError::analysis(format!(
                "View {name} already exists; use CREATE OR REPLACE VIEW"
            )));
        }
        map.insert(key, CatalogEntry::View(Arc::new(plan)));
        Ok(())
    }

    /// Drops a table or view; returns whether it existed.
    pub fn drop(&self, name: &str, view: bool) -> Result<bool> {
        let key = normalize_name(name);
        if view {
            if self.temp_views.write().remove(&key).is_some() {
                return Ok(true);
            }
            let mut tables = self.tables.write();
            return match tables.get(&key) {
                Some(CatalogEntry::View(_)) => Ok(tables.remove(&key).is_some()),
                Some(CatalogEntry::Table(_)) => Err(EmberError::analysis(format!(
                    "{name} is a table, not a view; use DROP TABLE {name}"
                ))),
                None => Ok(false),
            };
        }
        let mut tables = self.tables.write();
        match tables.get(&key) {
            Some(CatalogEntry::Table(_)) => Ok(tables.remove(&key).is_some()),
            Some(CatalogEntry::View(_)) => Err(EmberError::analysis(format!(
                "{name} is a view, not a table; use DROP VIEW {name}"
            ))),
            None => {
                if self.temp_views.read().contains_key(&key) {
                    return Err(EmberError::analysis(format!(
                        "{name} is a temporary view, not a table; use DROP VIEW {name}"
                    )));
                }
                Ok(false)
            }
        }
    }

    /// (name, is temporary, is view), sorted by name.
    pub fn list(&self) -> Vec<(String, bool, bool)> {
        let mut out: Vec<(String, bool, bool)> = self
            .tables
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), false, matches!(v, CatalogEntry::View(_))))
            .collect();
        out.extend(
            self.temp_views
                .read()
                .keys()
                .map(|k| (k.clone(), true, true)),
        );
        out.sort();
        out
    }

    /// Every visible name, for "did you mean" suggestions.
    pub fn names(&self) -> Vec<String> {
        self.list().into_iter().map(|(n, _, _)| n).collect()
    }
}

/// The names closest to `name` (edit distance), best first, for error messages.
pub fn closest_names<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let target = name.to_lowercase();
    let mut scored: Vec<(usize, String)> = candidates
        .into_iter()
        .map(|c| (edit_distance(&target, &c.to_lowercase()), c.to_string()))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    let limit = (target.len() / 2).max(3);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, c)| c)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let names = ["l_orderkey", "l_partkey", "o_orderkey"];
        assert_eq!(closest_names("l_orderky", names)[0], "l_orderkey");
        assert!(closest_names("zzzzzzzzzzzz", names).is_empty());
    }
}
