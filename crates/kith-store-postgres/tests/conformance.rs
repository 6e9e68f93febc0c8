//! The storage conformance suite (`kith_store::conformance`) against PostgreSQL: every check on
//! a fresh database of the server named by `KITH_TEST_POSTGRES_URL`.

use kith_store::Store;
use kith_store::conformance;
use kith_store_postgres::PgStore;
use kith_store_postgres::testing::TestServer;

#[test]
fn conformance_suite_passes_on_postgres() {
    let Some(server) = TestServer::from_env("conformance_suite_passes_on_postgres") else {
        return;
    };
    conformance::run_all(&|| Box::new(server.fresh_store()) as Box<dyn Store>);
}

#[test]
fn backup_restores_into_a_fresh_database_with_the_same_data() {
    let Some(server) =
        TestServer::from_env("backup_restores_into_a_fresh_database_with_the_same_data")
    else {
        return;
    };
    conformance::run_backup(
        &|| Box::new(server.fresh_store()) as Box<dyn Store>,
        &|archive| {
            let url = server.fresh_database();
            if let Err(e) = kith_store_postgres::restore(&url, archive) {
                panic!("restoring {}: {e}", archive.display());
            }
            match PgStore::connect(&url) {
                Ok(store) => Box::new(store) as Box<dyn Store>,
                Err(e) => panic!("opening the restored database: {e}"),
            }
        },
    );
}

#[test]
fn a_reader_beside_a_writer_never_skips_a_committed_change() {
    let Some(server) =
        TestServer::from_env("a_reader_beside_a_writer_never_skips_a_committed_change")
    else {
        return;
    };
    conformance::run_concurrent(&|| {
        let url = server.fresh_database();
        let open = || match PgStore::connect(&url) {
            Ok(store) => Box::new(store) as Box<dyn Store>,
            Err(e) => panic!("opening the test database: {e}"),
        };
        (open(), open())
    });
}
