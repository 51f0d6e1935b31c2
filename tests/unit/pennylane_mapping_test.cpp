#include "sources/pennylane/pennylane_mapping.hpp"

#include "support/fixtures.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace changefeed::sources::pennylane {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

changelog_page page_of(const std::string& fixture) {
    auto parsed = parse_changelog(test::read_fixture("pennylane/" + fixture));
    EXPECT_TRUE(std::holds_alternative<changelog_page>(parsed)) << std::get<std::string>(parsed);
    return std::get<changelog_page>(parsed);
}

time::time_point at(const char* text) { return *time::parse_rfc3339(text); }

TEST(pennylane_mapping, parses_a_recorded_changelog_page) {
    auto page = page_of("changelog_page_ties.json");
    ASSERT_EQ(page.items.size(), 4u);
    EXPECT_TRUE(page.has_more);
    EXPECT_EQ(page.next_cursor, "SGVsbG8sIEJhc2U2NCBlbmNvZGluZyE=");
    EXPECT_EQ(page.items[2].key, (change_key{at("2025-05-26T16:26:39.861Z"), 4242, "update"}));
    EXPECT_EQ(page.items[3].raw.at("updated_at"), "2025-05-20T09:00:00.000Z");

    auto last = page_of("changelog_last_page.json");
    EXPECT_FALSE(last.has_more);
    EXPECT_FALSE(last.next_cursor);
    // An offset time is read as the instant it names.
    EXPECT_EQ(last.items[2].key.processed_at, at("2025-05-26T16:28:00.500Z"));
}

TEST(pennylane_mapping, rejects_what_the_vendor_does_not_send) {
    auto error = [](std::string_view body) {
        auto r = parse_changelog(body);
        return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
    };
    EXPECT_NE(error("<html>"), "");
    EXPECT_NE(error("[]"), "");
    EXPECT_NE(error(R"({"items": [], "next_cursor": null})"), "");  // has_more is required
    EXPECT_NE(error(R"({"items": [{"id": "1", "operation": "insert", "processed_at": "2025-05-26T16:26:39Z"}], "has_more": false})"), "");
    EXPECT_NE(error(R"({"items": [{"id": 1, "operation": "insert", "processed_at": "yesterday"}], "has_more": false})"), "");
    EXPECT_EQ(error(R"({"items": [], "has_more": false, "next_cursor": null})"), "");
}

TEST(pennylane_mapping, ties_across_pages_are_emitted_once) {
    resource_state state;
    auto first = page_of("changelog_page_ties.json");
    auto out1 = apply_page(state, first, 60s, std::nullopt);
    ASSERT_EQ(out1.fresh.size(), 4u);
    EXPECT_EQ(out1.next.watermark, at("2025-05-26T16:27:01.002Z"));
    EXPECT_EQ(out1.next.cursor, first.next_cursor);

    // The next page repeats the delete of id 17 at the watermark (a restart from start_date).
    auto second = page_of("changelog_last_page.json");
    auto out2 = apply_page(out1.next, second, 60s, std::nullopt);
    ASSERT_EQ(out2.fresh.size(), 2u);
    EXPECT_EQ(out2.fresh[0]->key.id, 4244);
    EXPECT_EQ(out2.fresh[1]->key.id, 4245);
    EXPECT_FALSE(out2.next.cursor);

    // Replaying both pages from the stored state emits nothing again.
    auto stored = resource_state::from_json(json::parse(json::serialize(out2.next.to_json())));
    ASSERT_TRUE(std::holds_alternative<resource_state>(stored));
    const auto& restored = std::get<resource_state>(stored);
    EXPECT_TRUE(apply_page(restored, first, 60s, std::nullopt).fresh.empty());
    EXPECT_TRUE(apply_page(restored, second, 60s, std::nullopt).fresh.empty());
}

TEST(pennylane_mapping, same_id_and_time_with_another_operation_is_another_change) {
    resource_state state;
    auto page = page_of("changelog_page_ties.json");
    auto out = apply_page(state, page, 0s, std::nullopt);
    // 4242 insert and 4242 update share processed_at: both are events.
    EXPECT_EQ(out.fresh[0]->key.id, 4242);
    EXPECT_EQ(out.fresh[2]->key.id, 4242);
    EXPECT_NE(make_event("p", "customer_invoices", *out.fresh[0], std::nullopt).event_id,
              make_event("p", "customer_invoices", *out.fresh[2], std::nullopt).event_id);
}

TEST(pennylane_mapping, a_late_change_within_the_overlap_is_caught) {
    resource_state state;
    state.watermark = at("2025-05-26T16:27:00Z");
    state.floor = at("2025-05-26T16:26:00Z");
    changelog_page page;
    page.items.push_back({{at("2025-05-26T16:26:30Z"), 9, "update"}, json::object{{"id", 9}}});
    page.items.push_back({{at("2025-05-26T16:25:59Z"), 10, "update"}, json::object{{"id", 10}}});
    auto out = apply_page(state, page, 60s, std::nullopt);
    ASSERT_EQ(out.fresh.size(), 1u);
    EXPECT_EQ(out.fresh[0]->key.id, 9);
    EXPECT_EQ(out.next.watermark, state.watermark);
}

TEST(pennylane_mapping, a_caught_up_page_moves_a_quiet_watermark) {
    resource_state state;
    state.watermark = at("2025-05-01T00:00:00Z");
    state.floor = at("2025-04-30T23:59:00Z");
    changelog_page empty;
    auto out = apply_page(state, empty, 60s, at("2025-05-20T12:00:00Z"));
    EXPECT_EQ(out.next.watermark, at("2025-05-20T12:00:00Z"));
    EXPECT_EQ(out.next.floor, at("2025-05-20T11:59:00Z"));
}

TEST(pennylane_mapping, the_remembered_keys_are_bounded_but_keep_the_whole_watermark) {
    resource_state state;
    changelog_page page;
    auto t = at("2025-05-26T16:00:00Z");
    for (int i = 0; i < 1500; ++i) {
        page.items.push_back({{t + std::chrono::milliseconds(i), i, "insert"}, json::object{{"id", i}}});
    }
    // 1200 changes at one instant: all must be kept, whatever the cap.
    for (int i = 0; i < 1200; ++i) {
        page.items.push_back({{t + 10s, 5000 + i, "update"}, json::object{{"id", 5000 + i}}});
    }
    auto out = apply_page(state, page, 60s, std::nullopt);
    EXPECT_EQ(out.fresh.size(), 2700u);
    EXPECT_EQ(out.next.recent.size(), 1200u);
    EXPECT_EQ(out.next.floor, t + 10s);
    EXPECT_TRUE(apply_page(out.next, page, 60s, std::nullopt).fresh.empty());
}

TEST(pennylane_mapping, events_follow_the_spec_table) {
    auto page = page_of("changelog_page_ties.json");
    const auto& del = page.items[3];
    auto e = make_event("pennylane", "customer_invoices", del, json::value(nullptr));
    EXPECT_EQ(e.source, "pennylane");
    EXPECT_EQ(e.source_kind, "pennylane");
    EXPECT_EQ(e.resource, "customer_invoices");
    EXPECT_EQ(e.resource_id, "17");
    EXPECT_EQ(e.operation, "delete");
    EXPECT_EQ(e.occurred_at, "2025-05-26T16:27:01.002Z");
    ASSERT_TRUE(e.data);
    EXPECT_TRUE(e.data->is_null());
    EXPECT_EQ(e.upstream, json::value(del.raw));
    EXPECT_FALSE(e.changes);
    // Identity: source, resource, id, operation, processed_at, and nothing else.
    EXPECT_EQ(e.event_id, make_event("pennylane", "customer_invoices", del, std::nullopt).event_id);
    EXPECT_NE(e.event_id, make_event("pennylane", "supplier_invoices", del, std::nullopt).event_id);
    EXPECT_NE(e.event_id, make_event("other", "customer_invoices", del, std::nullopt).event_id);
    EXPECT_EQ(e.event_id, core::make_event_id({"pennylane", "customer_invoices", "17", "delete",
                                               "2025-05-26T16:27:01.002000Z"}));
}

TEST(pennylane_mapping, listed_records_become_snapshot_updates) {
    auto parsed = parse_list(test::read_fixture("pennylane/customer_invoices_list.json"));
    ASSERT_TRUE(std::holds_alternative<list_page>(parsed));
    const auto& page = std::get<list_page>(parsed);
    ASSERT_EQ(page.items.size(), 2u);
    auto e = make_snapshot_event("pennylane", "customer_invoices", page.items[0], time::now());
    EXPECT_EQ(e.operation, "update");
    EXPECT_TRUE(e.snapshot);
    EXPECT_EQ(e.resource_id, "4243");
    EXPECT_EQ(e.occurred_at, "2025-05-26T16:26:39.861Z");
    EXPECT_EQ(e.data->at("status"), "draft");
    EXPECT_EQ(e.event_id, make_snapshot_event("pennylane", "customer_invoices", page.items[0],
                                              time::now()).event_id);
}

TEST(pennylane_mapping, the_checkpoint_round_trips_and_bad_ones_are_named) {
    resource_state s;
    s.watermark = at("2025-05-26T16:27:01.002345Z");
    s.floor = at("2025-05-26T16:26:01.002345Z");
    s.recent = {{at("2025-05-26T16:27:01.002345Z"), 17, "delete"}};
    s.cursor = "abc";
    s.resync = resync_progress{at("2025-05-26T10:00:00Z"), std::string("xyz"), 3, 250};
    auto back = resource_state::from_json(json::parse(json::serialize(s.to_json())));
    ASSERT_TRUE(std::holds_alternative<resource_state>(back));
    const auto& r = std::get<resource_state>(back);
    EXPECT_EQ(r.watermark, s.watermark);
    EXPECT_EQ(r.floor, s.floor);
    EXPECT_EQ(r.recent, s.recent);
    EXPECT_EQ(r.cursor, s.cursor);
    ASSERT_TRUE(r.resync);
    EXPECT_EQ(r.resync->cursor, "xyz");
    EXPECT_EQ(r.resync->events, 250u);

    auto bad = resource_state::from_json(json::parse(R"({"watermark": "soon"})"));
    ASSERT_TRUE(std::holds_alternative<std::string>(bad));
    EXPECT_NE(std::get<std::string>(bad).find("watermark"), std::string::npos);
}

TEST(pennylane_mapping, the_in_filter_and_error_texts) {
    EXPECT_EQ(id_in_filter({1, 2, 3}), R"([{"field":"id","operator":"in","value":[1,2,3]}])");
    EXPECT_EQ(error_text(test::read_fixture("pennylane/error_422.json")),
              "start_date cannot be older than 4 weeks");
    EXPECT_EQ(error_text("Rate limit exceeded. Please retry in 3 seconds."),
              "Rate limit exceeded. Please retry in 3 seconds.");
}

}  // namespace
}  // namespace changefeed::sources::pennylane
