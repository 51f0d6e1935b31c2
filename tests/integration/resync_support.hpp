// Resync end-to-end helpers: POST /sources/{name}/resync with the feed token, await a source's
// `resync` object in GET /sources, count the outbox rows per event_id.
#pragma once

#include "core/time.hpp"
#include "support/http_client.hpp"
#include "support/source_status.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace changefeed::test {

inline http_reply post_resync(unsigned short port, const std::string& token, const std::string& source,
                              const std::optional<std::string>& from = std::nullopt) {
    std::string body = from ? R"({"from":")" + *from + R"("})" : std::string();
    return http_request(port, "POST", "/sources/" + source + "/resync",
                        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                        body);
}

/// The `resync` object of `source` in GET /sources once `done` holds it (bounded by `timeout`,
/// then a test failure and the last object seen).
inline boost::json::object await_resync(unsigned short port, const std::string& token,
                                        const std::string& source,
                                        const std::function<bool(const boost::json::object&)>& done,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto resync_of = [](const boost::json::object& status) {
        const auto* r = status.if_contains("resync");
        return r != nullptr && r->is_object() ? r->as_object() : boost::json::object();
    };
    auto status = await_source(
        port, source,
        [&](const boost::json::object& s) {
            auto r = resync_of(s);
            return !r.empty() && done(r);
        },
        timeout, {{"Authorization", "Bearer " + token}});
    auto last = resync_of(status);
    if (last.empty() || !done(last)) {
        ADD_FAILURE() << "the resync of " << source << " did not get there: "
                      << boost::json::serialize(last);
    }
    return last;
}

/// Feed events whose occurred_at is at or after `from`.
inline std::int64_t events_since(const std::vector<boost::json::object>& events, time::time_point from) {
    return std::count_if(events.begin(), events.end(), [from](const boost::json::object& e) {
        auto at = time::parse_rfc3339(std::string(e.at("occurred_at").as_string()));
        return at && *at >= from;
    });
}

inline bool resync_finished(const boost::json::object& r) { return r.at("state") != "running"; }

/// Outbox rows and distinct event ids of `source`: equal when nothing was stored twice.
struct outbox_count {
    std::int64_t rows = 0;
    std::int64_t distinct_ids = 0;
};

inline outbox_count count_outbox(const std::string& database_url, const std::string& source) {
    pqxx::connection conn(database_url);
    pqxx::read_transaction tx(conn);
    auto row = tx.exec_params1("SELECT count(*), count(DISTINCT event_id) FROM outbox WHERE source = $1", source);
    return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
}

/// Asserts a finished resync object: done, with its times and page count.
inline void expect_resync_done(const boost::json::object& r) {
    EXPECT_EQ(r.at("state"), "done") << boost::json::serialize(r);
    EXPECT_TRUE(r.at("started_at").is_string()) << boost::json::serialize(r);
    EXPECT_TRUE(r.at("finished_at").is_string()) << boost::json::serialize(r);
    EXPECT_GE(r.at("pages").as_int64(), 1) << boost::json::serialize(r);
    EXPECT_TRUE(r.at("eta").is_null()) << boost::json::serialize(r);
}

}  // namespace changefeed::test
