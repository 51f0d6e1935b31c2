// Resync bookkeeping against PostgreSQL: one running resync per source, the claim that deletes
// the checkpoints, progress with its ETA, and the end states.
#include "core/time.hpp"
#include "db/migrations.hpp"
#include "db/resync_repository.hpp"
#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <string>
#include <vector>

namespace changefeed::test {
namespace {

using namespace std::chrono_literals;

class resync_repository_test : public ::testing::Test {
protected:
    void SetUp() override {
        db::apply_migrations(db_.url());
        conn_.emplace(db_.url());
    }
    scratch_database db_;
    std::optional<pqxx::connection> conn_;
};

std::string at(time::time_point t) { return time::format_rfc3339_us(t); }

TEST_F(resync_repository_test, one_resync_runs_per_source_and_its_claim_drops_the_checkpoints) {
    {
        pqxx::work tx(*conn_);
        tx.exec("INSERT INTO source_checkpoints (source, scope, checkpoint) VALUES "
                "('crm', 'orders', '{\"since_id\": 7}'), ('other', '', '{}')");
        tx.commit();
    }
    auto started = db::request_resync(*conn_, "crm", std::nullopt);
    ASSERT_TRUE(started);
    EXPECT_EQ(started->state, "running");
    EXPECT_FALSE(started->claimed);
    EXPECT_FALSE(started->from);
    EXPECT_FALSE(db::request_resync(*conn_, "crm", std::nullopt));
    EXPECT_TRUE(db::request_resync(*conn_, "other", at(time::now() - 1h)));

    EXPECT_TRUE(db::claim_resync(*conn_, "crm"));
    EXPECT_FALSE(db::claim_resync(*conn_, "crm"));  // claimed once
    pqxx::read_transaction tx(*conn_);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM source_checkpoints WHERE source = 'crm'")[0].as<int>(), 0);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM source_checkpoints WHERE source = 'other'")[0].as<int>(), 1);
}

TEST_F(resync_repository_test, progress_gives_an_eta_until_the_last_page_ends_it) {
    auto from = time::now() - 10h;
    ASSERT_TRUE(db::request_resync(*conn_, "crm", at(from)));
    ASSERT_TRUE(db::claim_resync(*conn_, "crm"));
    {
        pqxx::work tx(*conn_);
        db::record_resync_progress(tx, "crm", 1, 100, false, at(from), at(from + 1h));
        db::record_resync_progress(tx, "crm", 1, 50, false, at(from + 1h), at(from + 2h));
        // As if the replay had begun an hour ago.
        tx.exec("UPDATE source_resyncs SET claimed_at = now() - interval '1 hour'");
        tx.commit();
    }
    auto running = db::read_resync(*conn_, "crm");
    ASSERT_TRUE(running);
    EXPECT_EQ(running->state, "running");
    EXPECT_EQ(running->pages, 2);
    EXPECT_EQ(running->events, 150);
    ASSERT_TRUE(running->position);
    EXPECT_EQ(time::parse_rfc3339(*running->position), time::parse_rfc3339(at(from + 2h)));
    // Two of ten hours replayed in one hour: eight more take four hours.
    ASSERT_TRUE(running->eta);
    auto eta = time::parse_rfc3339(*running->eta);
    ASSERT_TRUE(eta);
    EXPECT_GT(*eta, time::now() + 3h + 50min);
    EXPECT_LT(*eta, time::now() + 4h + 10min);
    EXPECT_FALSE(running->finished_at);

    {
        pqxx::work tx(*conn_);
        db::record_resync_progress(tx, "crm", 1, 0, true, std::nullopt, std::nullopt);
        tx.commit();
    }
    auto done = db::read_resync(*conn_, "crm");
    ASSERT_TRUE(done);
    EXPECT_EQ(done->state, "done");
    EXPECT_EQ(done->pages, 3);
    EXPECT_TRUE(done->finished_at);
    EXPECT_FALSE(done->eta);
    auto json = done->to_json();
    EXPECT_EQ(json.at("state"), "done");
    EXPECT_TRUE(json.at("eta").is_null());

    // A new request starts afresh; a failure ends it with the reason.
    auto again = db::request_resync(*conn_, "crm", std::nullopt);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->pages, 0);
    EXPECT_FALSE(again->position);
    db::fail_resync(*conn_, "crm", "the vendor refused the credentials");
    auto failed = db::read_resync(*conn_, "crm");
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->state, "failed");
    EXPECT_EQ(failed->error, "the vendor refused the credentials");
    EXPECT_EQ(failed->to_json().at("error"), "the vendor refused the credentials");
}

// The replica holding a source learns of a request made elsewhere through its LISTEN.
class resync_notice final : public pqxx::notification_receiver {
public:
    explicit resync_notice(pqxx::connection_base& c) : pqxx::notification_receiver(c, "changefeed_resync") {}
    void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
    std::vector<std::string> payloads;
};

TEST_F(resync_repository_test, a_started_resync_is_announced_and_a_refused_one_is_not) {
    pqxx::connection listener(db_.url());
    resync_notice notice(listener);
    ASSERT_TRUE(db::request_resync(*conn_, "crm", std::nullopt));
    ASSERT_FALSE(db::request_resync(*conn_, "crm", std::nullopt));  // already running
    for (int i = 0; i < 50 && notice.payloads.empty(); ++i) {
        listener.await_notification(0, 100000);
    }
    listener.get_notifs();  // a second notification, if any, has arrived with the first
    EXPECT_EQ(notice.payloads, std::vector<std::string>{"crm"});
}

}  // namespace
}  // namespace changefeed::test
