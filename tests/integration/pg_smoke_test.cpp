#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace changefeed::test {
namespace {

TEST(test_server, answers_in_a_scratch_database) {
    scratch_database db;
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec1("SELECT current_database()")[0].as<std::string>(), db.name());
}

}  // namespace
}  // namespace changefeed::test
