// The stored states that field diffs are computed against (Pennylane's resource_states, Precoro's
// entities): what is stored is read back, and each statement probes the primary key once per id
// even while the table's statistics still describe it as empty (a first backfill).
#include "db/migrations.hpp"
#include "db/resource_state_repository.hpp"
#include "db/sql.hpp"
#include "support/pg_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <functional>
#include <string>

namespace changefeed::test {
namespace {

namespace json = boost::json;

class resource_state_repository_test : public ::testing::Test {
protected:
    void SetUp() override { db::apply_migrations(db_.url()); }

    // `rows` rows for (pennylane, customer_invoices) and (precoro, suppliers), ids 1..rows, with
    // autovacuum off and no ANALYZE: the planner knows nothing of them.
    void fill_without_statistics(int rows) {
        pqxx::connection conn(db_.url());
        pqxx::work tx(conn);
        tx.exec("ALTER TABLE resource_states SET (autovacuum_enabled = false)");
        tx.exec("ALTER TABLE precoro_entities SET (autovacuum_enabled = false)");
        tx.exec_params("INSERT INTO resource_states (source, resource, resource_id, data) "
                       "SELECT 'pennylane', 'customer_invoices', i::text, "
                       "       jsonb_build_object('id', i, 'label', repeat('x', 100)) "
                       "  FROM generate_series(1, $1) i",
                       rows);
        tx.exec_params("INSERT INTO precoro_entities (source, resource, entity_id, version, data) "
                       "SELECT 'precoro', 'suppliers', i, '2026-11-30T10:00:00.000000Z', "
                       "       jsonb_build_object('id', i) "
                       "  FROM generate_series(1, $1) i",
                       rows);
        tx.commit();
    }

    // Runs `statement` under EXPLAIN ANALYZE (rolled back) and returns the plan's root.
    json::value explain(const std::string& statement,
                        const std::function<pqxx::result(pqxx::work&, const std::string&)>& run) {
        pqxx::connection conn(db_.url());
        pqxx::work tx(conn);
        auto r = run(tx, "EXPLAIN (ANALYZE, FORMAT JSON) " + statement);
        auto plan = json::parse(r[0][0].c_str());
        return plan.at(0).at("Plan");
    }

    scratch_database db_;
};

// Every plan node reading `table`: rows it touched (returned and filtered away, times loops).
void rows_touched(const json::value& node, const std::string& table, double& touched,
                  std::vector<std::string>& scans) {
    const auto& o = node.as_object();
    if (const auto* rel = o.if_contains("Relation Name"); rel != nullptr && *rel == table.c_str() &&
                                                           o.at("Node Type") != "ModifyTable") {
        double loops = o.at("Actual Loops").to_number<double>();
        double rows = o.at("Actual Rows").to_number<double>();
        double removed = 0;
        if (const auto* f = o.if_contains("Rows Removed by Filter")) {
            removed = f->to_number<double>();
        }
        touched += (rows + removed) * loops;
        scans.push_back(std::string(o.at("Node Type").as_string()));
    }
    if (const auto* plans = o.if_contains("Plans")) {
        for (const auto& child : plans->as_array()) {
            rows_touched(child, table, touched, scans);
        }
    }
}

std::string ids_json(int from, int count) {
    json::array ids;
    for (int i = from; i < from + count; ++i) {
        ids.push_back(json::value(std::to_string(i)));
    }
    return json::serialize(ids);
}

TEST_F(resource_state_repository_test, stores_reads_back_and_deletes_states) {
    pqxx::connection conn(db_.url());
    {
        pqxx::work tx(conn);
        db::store_resource_states(tx, "pennylane", "customers",
                                  {{"1", json::parse(R"({"city":"Paris"})")},
                                   {"2", json::parse(R"({"city":"Lyon"})")},
                                   {"1", json::parse(R"({"city":"Lille"})")}});
        db::store_resource_states(tx, "pennylane", "suppliers", {{"1", json::parse(R"({"other":true})")}});
        tx.commit();
    }
    auto states = db::load_resource_states(conn, "pennylane", "customers", {"1", "2", "3", "1"});
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states.at("1"), json::parse(R"({"city":"Lille"})"));
    EXPECT_EQ(states.at("2"), json::parse(R"({"city":"Lyon"})"));

    {
        pqxx::work tx(conn);
        db::store_resource_states(tx, "pennylane", "customers",
                                  {{"2", json::value(nullptr)}, {"3", json::parse(R"({"city":"Nantes"})")}});
        tx.commit();
    }
    states = db::load_resource_states(conn, "pennylane", "customers", {"1", "2", "3"});
    EXPECT_EQ(states.size(), 2u);
    EXPECT_FALSE(states.contains("2"));
    EXPECT_EQ(states.at("3"), json::parse(R"({"city":"Nantes"})"));
    EXPECT_EQ(db::load_resource_states(conn, "pennylane", "suppliers", {"1"}).at("1"),
              json::parse(R"({"other":true})"));
    EXPECT_TRUE(db::load_resource_states(conn, "pennylane", "customers", {}).empty());
}

TEST_F(resource_state_repository_test, each_id_probes_the_primary_key_once_without_statistics) {
    constexpr int rows = 3000;
    constexpr int wanted = 50;
    fill_without_statistics(rows);

    // The read: ids half stored, half not.
    auto ids = ids_json(rows - wanted / 2 + 1, wanted);
    auto read = explain(std::string(db::sql::k_select_resource_states),
                        [&](pqxx::work& tx, const std::string& sql) {
                            return tx.exec_params(sql, "pennylane", "customer_invoices", ids);
                        });
    double touched = 0;
    std::vector<std::string> scans;
    rows_touched(read, "resource_states", touched, scans);
    EXPECT_LE(touched, wanted) << json::serialize(read);
    for (const auto& s : scans) {
        EXPECT_NE(s, "Seq Scan") << json::serialize(read);
    }

    // The write: updates, deletes and new ids.
    json::array input;
    for (int i = 0; i < wanted; ++i) {
        auto id = std::to_string(rows - wanted / 2 + 1 + i);
        input.push_back(json::object{{"id", id},
                                     {"data", i % 3 == 0 ? json::value(nullptr) : json::value(json::object{{"n", i}})}});
    }
    auto write = explain(std::string(db::sql::k_store_resource_states),
                         [&](pqxx::work& tx, const std::string& sql) {
                             return tx.exec_params(sql, "pennylane", "customer_invoices",
                                                   json::serialize(input));
                         });
    touched = 0;
    scans.clear();
    rows_touched(write, "resource_states", touched, scans);
    EXPECT_LE(touched, 2 * wanted) << json::serialize(write);  // found by id, then by ctid
    for (const auto& s : scans) {
        EXPECT_NE(s, "Seq Scan") << json::serialize(write);
    }

    // Precoro's entities, read the same way.
    std::string literal = "{";
    for (int i = 0; i < wanted; ++i) {
        literal += (i > 0 ? "," : "") + std::to_string(rows - wanted / 2 + 1 + i);
    }
    literal += "}";
    auto entities = explain(std::string(db::sql::k_precoro_entities),
                            [&](pqxx::work& tx, const std::string& sql) {
                                return tx.exec_params(sql, "precoro", "suppliers", literal);
                            });
    touched = 0;
    scans.clear();
    rows_touched(entities, "precoro_entities", touched, scans);
    EXPECT_LE(touched, wanted) << json::serialize(entities);
    for (const auto& s : scans) {
        EXPECT_NE(s, "Seq Scan") << json::serialize(entities);
    }
}

}  // namespace
}  // namespace changefeed::test
