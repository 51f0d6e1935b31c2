#include "pg_fixture.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

namespace changefeed::test {

namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string(fallback);
}

std::atomic<int> g_counter{0};

}  // namespace

bool have_test_server() { return std::getenv("CHANGEFEED_TEST_PGHOST") != nullptr; }

std::string test_server_url(const std::string& dbname) {
    if (!have_test_server()) {
        throw std::runtime_error(
            "CHANGEFEED_TEST_PGHOST is not set: run the integration tests through scripts/test, "
            "which starts a private PostgreSQL");
    }
    return fmt::format("postgresql://{}@/{}?host={}&port={}", env_or("CHANGEFEED_TEST_PGUSER", "postgres"),
                       dbname, env_or("CHANGEFEED_TEST_PGHOST", "/tmp"),
                       env_or("CHANGEFEED_TEST_PGPORT", "5432"));
}

scratch_database::scratch_database() {
    name_ = fmt::format("cf_test_{}_{}", ::getpid(), g_counter.fetch_add(1));
    pqxx::connection admin(test_server_url("postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + name_);
    tx.exec0("CREATE DATABASE " + name_);
    url_ = test_server_url(name_);
}

scratch_database::~scratch_database() {
    try {
        pqxx::connection admin(test_server_url("postgres"));
        pqxx::nontransaction tx(admin);
        tx.exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
        // A leftover scratch database is harmless: the cluster is thrown away after the run.
    }
}

}  // namespace changefeed::test
