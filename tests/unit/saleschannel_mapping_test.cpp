// The sales-channel mapping: recorded pages, the keyset with its ties, the tie walk and the null
// sweep, the query encodings, the checkpoint round trip, and the events of odd rows.
#include "sources/saleschannel/saleschannel_mapping.hpp"

#include "support/fixtures.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace changefeed::sources::saleschannel {
namespace {

namespace json = boost::json;

std::vector<log_row> rows_of(const std::string& fixture) {
    auto parsed = parse_events(test::read_fixture("saleschannel/" + fixture));
    EXPECT_TRUE(std::holds_alternative<std::vector<log_row>>(parsed)) << std::get<std::string>(parsed);
    return std::get<std::vector<log_row>>(parsed);
}

time::time_point at(const char* text) { return *time::parse_rfc3339(text); }

log_row row(std::string id, std::optional<time::time_point> created) {
    log_row r;
    r.id = std::move(id);
    r.created_at = created;
    r.raw = json::object{{"id", r.id}, {"eventType", "TRANSACTION_STATUS_CHANGE"}};
    return r;
}

std::vector<std::string> ids(const page_outcome& o) {
    std::vector<std::string> out;
    for (const auto* r : o.fresh) {
        out.push_back(r->id);
    }
    return out;
}

TEST(saleschannel_mapping, parses_a_recorded_page) {
    auto rows = rows_of("events_page.json");
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].id, "clx1y2z3a0000abcd1234efgh");
    EXPECT_EQ(rows[0].created_at, at("2024-05-01T10:00:00.000Z"));
    EXPECT_EQ(rows[0].event_at, at("2024-05-01T09:59:58.000Z"));
    EXPECT_FALSE(rows[1].event_at);
    EXPECT_EQ(rows[3].raw.at("details").at("state"), "FAILED");

    auto odd = rows_of("events_odd_rows.json");
    ASSERT_EQ(odd.size(), 3u);
    EXPECT_FALSE(odd[0].created_at);
    EXPECT_EQ(odd[0].event_at, at("2024-05-01T08:00:00.000Z"));
    EXPECT_FALSE(odd[1].created_at);
    EXPECT_FALSE(odd[1].event_at);
}

TEST(saleschannel_mapping, rejects_what_is_not_a_bare_array_of_identified_events) {
    auto error = [](std::string_view body) {
        auto r = parse_events(body);
        return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
    };
    EXPECT_NE(error("<html>"), "");
    EXPECT_NE(error(R"({"data": []})"), "");
    EXPECT_NE(error(R"([{"eventType": "TRANSACTION_STATUS_CHANGE"}])"), "");
    EXPECT_NE(error(R"([{"id": 7}])"), "");
    EXPECT_NE(error(R"([1])"), "");
    EXPECT_EQ(error("[]"), "");
    // A createdAt that is not a date-time is read as missing, not as an error.
    EXPECT_EQ(error(R"([{"id": "a", "createdAt": "yesterday"}])"), "");
}

TEST(saleschannel_mapping, a_status_change_becomes_a_transactions_update) {
    auto rows = rows_of("events_page.json");
    auto polled = at("2024-05-01T11:00:00Z");
    auto e = make_event("payments", rows[0], polled);
    EXPECT_EQ(e.source, "payments");
    EXPECT_EQ(e.source_kind, "saleschannel");
    EXPECT_EQ(e.resource, "transactions");
    EXPECT_EQ(e.resource_id, "clcouzeuj0001ppxdc4lx7e5d");
    EXPECT_EQ(e.operation, "update");
    EXPECT_EQ(e.occurred_at, "2024-05-01T09:59:58.000Z");  // eventAt wins
    EXPECT_EQ(json::serialize(*e.changes), R"([{"field":"status","old":"PENDING","new":"SUCCESS"}])");
    EXPECT_EQ(e.upstream, json::value(rows[0].raw));
    EXPECT_EQ(e.event_id, core::make_event_id({"payments", "clx1y2z3a0000abcd1234efgh"}));
    EXPECT_FALSE(e.actor);

    // No previousStatus: the old value is null; no eventAt: createdAt.
    auto second = make_event("payments", rows[1], polled);
    EXPECT_EQ(json::serialize(*second.changes), R"([{"field":"status","old":null,"new":"PENDING"}])");
    EXPECT_EQ(second.occurred_at, "2024-05-01T10:00:01.250Z");
}

TEST(saleschannel_mapping, unknown_types_and_shapes_are_kept_raw) {
    auto rows = rows_of("events_page.json");
    auto polled = at("2024-05-01T11:00:00Z");
    auto retirement = make_event("payments", rows[2], polled);
    EXPECT_EQ(retirement.resource, "credit_retirement_change");
    EXPECT_EQ(retirement.resource_id, rows[2].id);
    EXPECT_EQ(retirement.operation, "update");
    EXPECT_FALSE(retirement.changes);
    EXPECT_EQ(retirement.upstream.at("details").at("retirementId"), "clret00001");

    auto nested = make_event("payments", rows[3], polled);
    EXPECT_EQ(nested.resource, "transaction_status_change");
    EXPECT_EQ(nested.resource_id, rows[3].id);
    EXPECT_FALSE(nested.changes);

    auto odd = rows_of("events_odd_rows.json");
    // Null createdAt: occurred_at from eventAt, else the poll; an explicit null previousStatus.
    auto null_created = make_event("payments", odd[0], polled);
    EXPECT_EQ(null_created.occurred_at, "2024-05-01T08:00:00.000Z");
    EXPECT_EQ(json::serialize(*null_created.changes),
              R"([{"field":"status","old":null,"new":"REJECTED"}])");
    auto no_times = make_event("payments", odd[1], polled);
    EXPECT_EQ(no_times.occurred_at, "2024-05-01T11:00:00.000Z");
    EXPECT_EQ(no_times.resource, "transaction_status_change");
    auto no_type = make_event("payments", odd[2], polled);
    EXPECT_EQ(no_type.resource, "unknown");
    EXPECT_EQ(no_type.resource_id, "clx1y2z3a0011abcd1234efgh");
}

TEST(saleschannel_mapping, a_status_change_without_a_status_is_still_a_transactions_update) {
    auto polled = at("2024-05-01T11:00:00Z");
    for (const char* details : {R"({"transactionId":"cltx1"})", R"({"transactionId":"cltx1","status":3})",
                                R"({"transactionId":"cltx1","status":null})"}) {
        auto r = row("clev1", at("2024-05-01T10:00:00Z"));
        r.raw["details"] = json::parse(details);
        auto e = make_event("payments", r, polled);
        EXPECT_EQ(e.resource, "transactions") << details;
        EXPECT_EQ(e.resource_id, "cltx1") << details;
        EXPECT_EQ(e.operation, "update") << details;
        EXPECT_FALSE(e.changes) << details;
        EXPECT_EQ(e.upstream.at("details"), json::parse(details)) << details;
    }
}

TEST(saleschannel_mapping, brackets_are_percent_encoded_in_the_url) {
    events_query q;
    q.limit = 100;
    q.gte = at("2024-05-01T10:00:00Z");
    auto url = make_url("https://scs.api.puro.earth", "/saleschannel-services/v1/events",
                        encode(q, query_encoding::brackets));
    EXPECT_EQ(url,
              "https://scs.api.puro.earth/saleschannel-services/v1/events?%24limit=100&"
              "%24orderBy%5BcreatedAt%5D=asc&%24filter%5BcreatedAt%5D%5Bgte%5D=2024-05-01T10%3A00%"
              "3A00.000Z");

    events_query walk;
    walk.limit = 50;
    walk.gte = at("2024-05-01T10:00:00.123Z");
    walk.lte = walk.gte;
    walk.id_gt = "cabc";
    walk.order_by_id = true;
    auto params = encode(walk, query_encoding::brackets);
    query_params expected{{"$limit", "50"},
                          {"$orderBy[createdAt]", "asc"},
                          {"$orderBy[id]", "asc"},
                          {"$filter[createdAt][gte]", "2024-05-01T10:00:00.123Z"},
                          {"$filter[createdAt][lte]", "2024-05-01T10:00:00.123Z"},
                          {"$filter[id][gt]", "cabc"}};
    EXPECT_EQ(params, expected);
}

TEST(saleschannel_mapping, json_encoding_sends_objects) {
    events_query q;
    q.limit = 100;
    q.gt = at("2024-05-01T10:00:00Z");
    auto params = encode(q, query_encoding::json);
    query_params expected{{"$limit", "100"},
                          {"$orderBy", R"({"createdAt":"asc"})"},
                          {"$filter", R"({"createdAt":{"gt":"2024-05-01T10:00:00.000Z"}})"}};
    EXPECT_EQ(params, expected);

    events_query unfiltered;
    unfiltered.limit = 10;
    EXPECT_EQ(encode(unfiltered, query_encoding::json).size(), 2u);
}

TEST(saleschannel_mapping, filter_times_keep_the_precision_the_vendor_gave) {
    EXPECT_EQ(filter_time(at("2024-05-01T10:00:00.120Z")), "2024-05-01T10:00:00.120Z");
    EXPECT_EQ(filter_time(at("2024-05-01T10:00:00.120300Z")), "2024-05-01T10:00:00.120300Z");
}

TEST(saleschannel_mapping, next_query_follows_the_checkpoint) {
    log_state s;
    auto first = next_query(s, 100, std::nullopt);
    EXPECT_EQ(first.gte, time::time_point{});  // far in the past, as the vendor's example
    EXPECT_EQ(next_query(s, 100, at("2024-01-01T00:00:00Z")).gte, at("2024-01-01T00:00:00Z"));

    s.created_at = at("2024-05-01T10:00:00Z");
    auto keyset = next_query(s, 100, std::nullopt);
    EXPECT_EQ(keyset.gte, s.created_at);
    EXPECT_FALSE(keyset.gt);
    s.past = true;
    auto past = next_query(s, 100, std::nullopt);
    EXPECT_EQ(past.gt, s.created_at);
    EXPECT_FALSE(past.gte);

    s.past = false;
    s.walk = "";
    auto walk = next_query(s, 100, std::nullopt);
    EXPECT_TRUE(walk.order_by_id);
    EXPECT_EQ(walk.gte, s.created_at);
    EXPECT_EQ(walk.lte, s.created_at);
    EXPECT_FALSE(walk.id_gt);
    s.walk = "c42";
    EXPECT_EQ(next_query(s, 100, std::nullopt).id_gt, "c42");
}

TEST(saleschannel_mapping, the_boundary_rows_of_a_gte_filter_are_emitted_once) {
    auto rows = rows_of("events_page.json");
    log_state s;
    auto first = apply_page(s, rows, 100);
    EXPECT_EQ(first.fresh.size(), 4u);
    EXPECT_FALSE(first.full);
    EXPECT_FALSE(first.stuck);
    EXPECT_EQ(first.next.created_at, at("2024-05-01T10:00:01.250Z"));
    EXPECT_EQ(first.next.ids_at.size(), 3u);

    // The next poll (gte the boundary) returns the boundary rows again plus a new one.
    std::vector<log_row> again(rows.begin() + 1, rows.end());
    again.push_back(row("cnew", at("2024-05-01T10:00:01.250Z")));
    auto second = apply_page(first.next, again, 100);
    EXPECT_EQ(ids(second), std::vector<std::string>{"cnew"});
    EXPECT_EQ(second.next.ids_at.size(), 4u);

    // A restart from the stored checkpoint replays nothing.
    auto stored = log_state::from_json(json::parse(json::serialize(second.next.to_json())));
    ASSERT_TRUE(std::holds_alternative<log_state>(stored));
    EXPECT_TRUE(apply_page(std::get<log_state>(stored), again, 100).fresh.empty());
}

TEST(saleschannel_mapping, a_full_page_at_one_created_at_is_stuck) {
    auto t = at("2024-05-01T10:00:00Z");
    log_state s;
    s.created_at = t;
    s.ids_at = {"a"};
    std::vector<log_row> page{row("a", t), row("b", t), row("c", t)};
    auto out = apply_page(s, page, 3);
    EXPECT_TRUE(out.full);
    EXPECT_TRUE(out.stuck);
    EXPECT_EQ(ids(out), (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(out.next.ids_at, (std::vector<std::string>{"a", "b", "c"}));

    // One row further on: progress, not stuck.
    page.back() = row("d", t + std::chrono::milliseconds(1));
    auto moved = apply_page(s, page, 3);
    EXPECT_TRUE(moved.full);
    EXPECT_FALSE(moved.stuck);
    EXPECT_EQ(moved.next.created_at, t + std::chrono::milliseconds(1));
    EXPECT_EQ(moved.next.ids_at, std::vector<std::string>{"d"});

    // Below the page size: not full, whatever the timestamps.
    page.pop_back();
    EXPECT_FALSE(apply_page(s, page, 3).stuck);
}

TEST(saleschannel_mapping, the_tie_walk_goes_by_id_and_ends_past_the_timestamp) {
    auto t = at("2024-05-01T10:00:00Z");
    log_state s;
    s.created_at = t;
    s.ids_at = {"b", "x"};  // seen on the stuck page
    s.walk = "";
    std::vector<log_row> page{row("a", t), row("b", t), row("c", t)};
    auto first = apply_walk_page(s, page, 3);
    EXPECT_EQ(ids(first), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(first.next.walk, "c");
    EXPECT_FALSE(first.stuck);

    std::vector<log_row> rest{row("d", t), row("x", t)};
    auto last = apply_walk_page(first.next, rest, 3);
    EXPECT_EQ(ids(last), std::vector<std::string>{"d"});
    EXPECT_FALSE(last.next.walk);
    EXPECT_TRUE(last.next.past);
    EXPECT_TRUE(last.next.ids_at.empty());

    // A walk that does not move is stuck (the vendor ignored the id filter).
    auto repeated = apply_walk_page(first.next, {row("a", t), row("b", t), row("c", t)}, 3);
    EXPECT_TRUE(repeated.stuck);

    // Past the timestamp, rows at it are old.
    std::vector<log_row> later{row("a", t), row("e", t + std::chrono::seconds(1))};
    auto after = apply_page(last.next, later, 100);
    EXPECT_EQ(ids(after), std::vector<std::string>{"e"});
}

TEST(saleschannel_mapping, null_created_at_rows_are_remembered_and_counted) {
    auto odd = rows_of("events_odd_rows.json");
    log_state s;
    auto sweep = apply_sweep_page(s, odd, 100);
    ASSERT_EQ(ids(sweep), (std::vector<std::string>{"clx1y2z3a0009abcd1234efgh",
                                                     "clx1y2z3a0010abcd1234efgh"}));
    EXPECT_EQ(sweep.next.null_total, 2u);
    EXPECT_FALSE(sweep.next.created_at);  // the sweep never moves the keyset
    auto again = apply_sweep_page(sweep.next, odd, 100);
    EXPECT_TRUE(again.fresh.empty());
    EXPECT_EQ(again.next.null_total, 2u);
    EXPECT_TRUE(apply_sweep_page(s, {odd[0], odd[1]}, 2).stuck);
    EXPECT_FALSE(apply_sweep_page(s, odd, 3).stuck);

    // A null row inside a keyset page counts too, once.
    auto page = apply_page(sweep.next, odd, 100);
    EXPECT_EQ(ids(page), std::vector<std::string>{"clx1y2z3a0011abcd1234efgh"});
    EXPECT_EQ(page.next.null_total, 2u);

    // The remembered ids are bounded; the count is not.
    log_state many;
    std::vector<log_row> rows;
    for (std::size_t i = 0; i < k_null_ids_cap + 5; ++i) {
        rows.push_back(row("n" + std::to_string(i), std::nullopt));
    }
    auto big = apply_sweep_page(many, rows, 10000);
    EXPECT_EQ(big.next.null_ids.size(), k_null_ids_cap);
    EXPECT_EQ(big.next.null_ids.back(), "n" + std::to_string(k_null_ids_cap + 4));
    EXPECT_EQ(big.next.null_total, k_null_ids_cap + 5);
}

TEST(saleschannel_mapping, checkpoint_round_trip_and_bad_checkpoints) {
    log_state s;
    s.created_at = at("2024-05-01T10:00:00.123456Z");
    s.ids_at = {"a", "b"};
    s.walk = "b";
    s.null_ids = {"n"};
    s.null_total = 3;
    auto back = log_state::from_json(json::parse(json::serialize(s.to_json())));
    ASSERT_TRUE(std::holds_alternative<log_state>(back));
    const auto& r = std::get<log_state>(back);
    EXPECT_EQ(r.created_at, s.created_at);
    EXPECT_EQ(r.ids_at, s.ids_at);
    EXPECT_EQ(r.walk, s.walk);
    EXPECT_EQ(r.null_ids, s.null_ids);
    EXPECT_EQ(r.null_total, 3u);
    EXPECT_FALSE(r.past);

    auto bad = [](std::string_view text) {
        return std::holds_alternative<std::string>(log_state::from_json(json::parse(text)));
    };
    EXPECT_TRUE(bad("[]"));
    EXPECT_TRUE(bad(R"({"created_at": "soon"})"));
    EXPECT_TRUE(bad(R"({"ids_at": [1]})"));
    EXPECT_TRUE(bad(R"({"walk": "x"})"));  // a walk needs its createdAt
    EXPECT_FALSE(bad("{}"));
}

TEST(saleschannel_mapping, nest_error_bodies_are_described) {
    EXPECT_EQ(error_text(test::read_fixture("saleschannel/error_400.json")),
              "$limit must not be greater than 500; $limit must be an integer number");
    EXPECT_EQ(error_text(R"({"statusCode":401,"message":"Unauthorized"})"), "Unauthorized");
    EXPECT_EQ(error_text("Bad Gateway\n"), "Bad Gateway ");
}

}  // namespace
}  // namespace changefeed::sources::saleschannel
