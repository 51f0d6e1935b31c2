#include "db/migrations.hpp"

#include "core/log.hpp"
#include "db/pg_pool.hpp"

#include <pqxx/pqxx>

#include <set>

namespace changefeed::db {

namespace {

// Any constant works; it only has to be the same in every replica.
constexpr long long k_migration_lock = 0x6368616e67656601;

std::set<std::string> applied_names(pqxx::transaction_base& tx) {
    std::set<std::string> names;
    for (const auto& row : tx.exec("SELECT name FROM schema_migrations")) {
        names.insert(row[0].as<std::string>());
    }
    return names;
}

}  // namespace

std::vector<std::string> apply_migrations(const std::string& database_url) {
    auto conn = open_connection(database_url);
    std::vector<std::string> applied_now;
    {
        pqxx::nontransaction tx(*conn);
        tx.exec0("SET statement_timeout = 0");
        tx.exec_params("SELECT pg_advisory_lock($1)", k_migration_lock);
        tx.exec0("CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    }
    try {
        std::set<std::string> done;
        {
            pqxx::work tx(*conn);
            done = applied_names(tx);
            tx.commit();
        }
        for (const auto& m : embedded_migrations()) {
            std::string name(m.name);
            if (done.count(name) != 0) {
                continue;
            }
            pqxx::work tx(*conn);
            tx.exec0(std::string(m.sql));
            tx.exec_params0("INSERT INTO schema_migrations (name) VALUES ($1)", name);
            tx.commit();
            log::info("migration applied", {{"migration", name}});
            applied_now.push_back(name);
        }
    } catch (...) {
        pqxx::nontransaction unlock(*conn);
        unlock.exec_params("SELECT pg_advisory_unlock($1)", k_migration_lock);
        throw;
    }
    pqxx::nontransaction unlock(*conn);
    unlock.exec_params("SELECT pg_advisory_unlock($1)", k_migration_lock);
    return applied_now;
}

bool migrations_applied(pqxx::connection_base& conn) {
    pqxx::read_transaction tx(conn);
    auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
    if (!exists) {
        return false;
    }
    auto names = applied_names(tx);
    for (const auto& m : embedded_migrations()) {
        if (names.count(std::string(m.name)) == 0) {
            return false;
        }
    }
    return true;
}

}  // namespace changefeed::db
