// The Struct mapping: recorded search pages, changed entities, data types and revision data, the
// walk over search pages with its last-page rule, the uids already processed, and the events.
#include "sources/struct/struct_mapping.hpp"

#include "support/fixtures.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace changefeed::sources::struct_pim {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

template <class T>
T parsed(std::variant<T, std::string> v) {
    EXPECT_TRUE(std::holds_alternative<T>(v)) << std::get<std::string>(v);
    return std::get<T>(std::move(v));
}

time::time_point at(const char* text) { return *time::parse_rfc3339(text); }

transaction tx(std::string uid, std::optional<time::time_point> commit, std::string type = "Product update") {
    transaction t;
    t.uid = std::move(uid);
    t.type = std::move(type);
    t.commit = commit;
    t.raw = json::object{{"Uid", t.uid}};
    return t;
}

// A state whose first walk (no watermark yet) has begun at 09:00.
struct_state walking() {
    struct_state s;
    s.walk = start_walk(s, 5min, std::nullopt, at("2025-06-27T09:00:00Z"));
    return s;
}

search_page page_of(std::int64_t total, std::int64_t number, std::vector<transaction> items) {
    return search_page{total, number, std::move(items)};
}

std::vector<std::string> uids(const page_outcome& o) {
    std::vector<std::string> out;
    for (const auto* t : o.fresh) {
        out.push_back(t->uid);
    }
    return out;
}

TEST(struct_mapping, parses_a_recorded_search_page) {
    auto page = parsed(parse_search(test::read_fixture("struct/search_page.json")));
    EXPECT_EQ(page.total_count, 3);
    EXPECT_EQ(page.page, 1);
    ASSERT_EQ(page.transactions.size(), 3u);
    const auto& first = page.transactions[0];
    EXPECT_EQ(first.uid, "6ad83963-2086-4811-84f9-0b4cee1c0ed2");
    EXPECT_EQ(first.type, "Product update");
    EXPECT_EQ(first.username, "anna@example.com");
    // Seven fractional digits and an offset: the instant, to the microsecond.
    EXPECT_EQ(first.commit, at("2021-10-20T10:56:27.301Z"));
    EXPECT_FALSE(page.transactions[2].commit);
    EXPECT_EQ(page.transactions[2].username, "");
}

TEST(struct_mapping, rejects_other_envelopes) {
    auto error = [](std::string_view body) {
        auto r = parse_search(body);
        return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
    };
    EXPECT_NE(error("[]"), "");
    EXPECT_NE(error(R"({"Transactions": []})"), "");  // TotalCount is required
    EXPECT_NE(error(R"({"TotalCount": 1, "Transactions": [{"TransactionType": "x"}]})"), "");
    EXPECT_NE(error(R"({"TotalCount": 1, "Transactions": [{"Uid": "u", "CommitTimestamp": "late"}]})"), "");
    EXPECT_EQ(error(R"({"TotalCount": 0, "Page": 1, "Transactions": []})"), "");
}

TEST(struct_mapping, parses_changed_entities_data_types_and_revision_data) {
    auto entities = parsed(parse_changed_entities(test::read_fixture("struct/changed_entities.json")));
    ASSERT_EQ(entities.size(), 3u);
    EXPECT_EQ(entities[0].entity_type, "Product");
    EXPECT_EQ(entities[0].entity_id, "3021");
    EXPECT_EQ(entities[0].revision, 2);
    EXPECT_EQ(entities[2].entity_id, "105633");  // a numeric EntityId, as text
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_changed_entities(
        R"([{"EntityType": "Product", "EntityId": "1", "TransactionUid": "u"}])")));

    auto types = parsed(parse_data_types(test::read_fixture("struct/changes_batch.json")));
    ASSERT_EQ(types.size(), 3u);
    EXPECT_EQ(types[0].key, entities[1].key());
    EXPECT_EQ(types[2].key, entities[0].key());
    EXPECT_EQ(types[2].data_type, "system.attribute.92221003-abda-40a6-9bef-9e5b0b75efbc");

    auto data = parsed(parse_revision_data(test::read_fixture("struct/revisiondata.json")));
    // Name: revisions 2 and 1 (LastChange repeats 2); Price: only LastChange (3).
    ASSERT_EQ(data.size(), 3u);
    EXPECT_EQ(json::serialize(changes_of(data, 2)),
              R"~([{"field":"Name (Danish)","old":"Test1","new":"Test2"}])~");
    EXPECT_EQ(json::serialize(changes_of(data, 1)),
              R"~([{"field":"Name (Danish)","old":null,"new":"Test1"}])~");
    auto price = changes_of(data, 3);
    ASSERT_EQ(price.size(), 1u);
    EXPECT_EQ(price[0].at("field"), "Price");
    EXPECT_EQ(price[0].at("old"), 24.5);
    EXPECT_EQ(price[0].at("new"), 19.95);
    EXPECT_TRUE(changes_of(data, 9).empty());
}

TEST(struct_mapping, events_per_changed_entity_revision) {
    auto page = parsed(parse_search(test::read_fixture("struct/search_page.json")));
    auto entities = parsed(parse_changed_entities(test::read_fixture("struct/changed_entities.json")));
    const auto& t = page.transactions[0];
    auto e = make_event("pim", t, entities[0], std::nullopt, std::nullopt);
    EXPECT_EQ(e.event_id, core::make_event_id({"pim", t.uid, "Product", "3021", "2"}));
    EXPECT_EQ(e.source_kind, "struct");
    EXPECT_EQ(e.resource, "products");
    EXPECT_EQ(e.resource_id, "3021");
    EXPECT_EQ(e.operation, "update");
    EXPECT_EQ(e.occurred_at, "2021-10-20T10:56:27.301Z");
    EXPECT_EQ(json::serialize(*e.actor), R"({"type":"user","id":"anna@example.com"})");
    EXPECT_FALSE(e.changes);
    EXPECT_EQ(e.upstream.at("Transaction").at("Uid"), json::value(t.uid));
    EXPECT_EQ(e.upstream.at("ChangedEntity").at("EntityId"), "3021");
    EXPECT_FALSE(e.upstream.as_object().contains("DataTypes"));

    auto created = make_event("pim", t, entities[1], json::array{}, json::array{"system.attribute.x"});
    EXPECT_EQ(created.operation, "insert");
    EXPECT_EQ(json::serialize(*created.changes), "[]");
    EXPECT_EQ(json::serialize(created.upstream.at("DataTypes")), R"(["system.attribute.x"])");

    auto variant = make_event("pim", page.transactions[1], entities[2], std::nullopt, std::nullopt);
    EXPECT_EQ(variant.resource, "variants");

    // Deletion named by the transaction type, or by a change type; it wins over revision 1.
    auto deletion = tx("d", at("2021-10-20T10:00:00Z"), "Product deletion");
    EXPECT_EQ(operation_of(deletion, entities[1]), "delete");
    auto changed = entities[0];
    changed.raw["ChangeType"] = "Deleted";
    EXPECT_EQ(operation_of(t, changed), "delete");
    // No username: no actor.
    auto anonymous = tx("n", at("2021-10-20T10:00:00Z"));
    EXPECT_FALSE(make_event("pim", anonymous, entities[0], std::nullopt, std::nullopt).actor);

    EXPECT_EQ(resource_of("Category"), "categories");
    EXPECT_EQ(resource_of("GlobalListValue"), "globallistvalues");
    EXPECT_EQ(resource_of("Asset"), "asset");
}

TEST(struct_mapping, a_walk_starts_below_the_watermark_by_the_overlap) {
    struct_state s;
    auto now = at("2025-06-27T09:00:00Z");
    auto fresh = start_walk(s, 5min, std::nullopt, now);
    EXPECT_FALSE(fresh.after);
    EXPECT_EQ(fresh.before, now);
    EXPECT_EQ(fresh.page, 1);
    EXPECT_EQ(start_walk(s, 5min, at("2025-01-01T00:00:00Z"), now).after, at("2025-01-01T00:00:00Z"));
    s.watermark = at("2025-06-27T08:50:00Z");
    EXPECT_EQ(start_walk(s, 5min, std::nullopt, now).after, at("2025-06-27T08:45:00Z"));
}

TEST(struct_mapping, the_last_page_by_total_count_or_an_empty_page) {
    auto s = walking();
    auto t0 = at("2025-06-27T08:00:00Z");
    std::vector<transaction> two{tx("a", t0), tx("b", t0 + 1s)};

    auto first = apply_search_page(s, page_of(5, 1, two), 2, 5min);
    EXPECT_FALSE(first.last);
    EXPECT_EQ(first.next.walk->page, 2);
    EXPECT_FALSE(first.next.watermark);  // only a finished walk moves it

    auto second = apply_search_page(first.next, page_of(5, 2, {tx("c", t0 + 2s), tx("d", t0 + 3s)}),
                                    2, 5min);
    EXPECT_FALSE(second.last);
    EXPECT_EQ(second.next.walk->page, 3);
    // The answer's Page is not trusted (a vendor may clamp it): the page asked for counts.
    auto end = apply_search_page(second.next, page_of(5, 2, {tx("e", t0 + 4s)}), 2, 5min);
    EXPECT_TRUE(end.last);
    EXPECT_FALSE(end.next.walk);
    EXPECT_EQ(end.next.watermark, t0 + 4s);

    EXPECT_TRUE(apply_search_page(first.next, page_of(5, 2, {}), 2, 5min).last);

    // The vendor's pages are shorter than page_size: its own length decides.
    auto short_pages = apply_search_page(s, page_of(5, 1, two), 100, 5min);
    EXPECT_FALSE(short_pages.last);
    EXPECT_EQ(short_pages.next.walk->page_len, 2);
    // Longer than page_size: the configured size, so the walk ends on an empty page at worst.
    std::vector<transaction> three{tx("a", t0), tx("b", t0), tx("c", t0)};
    auto long_pages = apply_search_page(s, page_of(5, 1, three), 2, 5min);
    EXPECT_FALSE(long_pages.last);
    auto after_long =
        apply_search_page(long_pages.next, page_of(5, 2, {tx("d", t0), tx("e", t0)}), 2, 5min);
    EXPECT_FALSE(after_long.last);
}

TEST(struct_mapping, a_walk_whose_total_count_changes_reads_again_from_page_one) {
    auto s = walking();
    auto t0 = at("2025-06-27T08:00:00Z");
    // `fresh` points into the page: each page lives as long as its outcome is read.
    auto p1 = page_of(4, 1, {tx("a", t0), tx("b", t0 + 1s)});
    auto first = apply_search_page(s, p1, 2, 5min);
    EXPECT_FALSE(first.restarted);
    EXPECT_EQ(first.next.walk->total, 4);

    // A late commit ("z", started early) became visible: it sorts onto page 1 and pushes "b"
    // onto page 2 beside "c". The page is processed, then the walk starts over.
    auto p2 = page_of(5, 2, {tx("b", t0 + 1s), tx("c", t0 + 2s)});
    auto second = apply_search_page(first.next, p2, 2, 5min);
    EXPECT_TRUE(second.restarted);
    EXPECT_FALSE(second.last);
    EXPECT_EQ(uids(second), std::vector<std::string>{"c"});
    EXPECT_EQ(second.next.walk->page, 1);
    EXPECT_EQ(second.next.walk->max_commit, t0 + 2s);
    EXPECT_FALSE(second.next.watermark);

    auto again_p1 = page_of(5, 1, {tx("z", t0 - 1s), tx("a", t0)});
    auto again = apply_search_page(second.next, again_p1, 2, 5min);
    EXPECT_FALSE(again.restarted);
    EXPECT_EQ(uids(again), std::vector<std::string>{"z"});
    auto next = apply_search_page(again.next, p2, 2, 5min);
    EXPECT_TRUE(uids(next).empty());
    EXPECT_FALSE(next.last);
    auto p3 = page_of(5, 3, {tx("d", t0 + 3s)});
    auto end = apply_search_page(next.next, p3, 2, 5min);
    EXPECT_TRUE(end.last);
    EXPECT_EQ(uids(end), std::vector<std::string>{"d"});
    EXPECT_EQ(end.next.watermark, t0 + 3s);

    // Even an empty page does not end a walk whose result set moved.
    auto moved_empty = apply_search_page(first.next, page_of(6, 2, {}), 2, 5min);
    EXPECT_TRUE(moved_empty.restarted);
    EXPECT_FALSE(moved_empty.last);
}

TEST(struct_mapping, a_total_count_that_never_settles_restarts_a_walk_a_bounded_number_of_times) {
    auto s = walking();
    auto t0 = at("2025-06-27T08:00:00Z");
    auto page = page_of(10, 1, {tx("a", t0), tx("b", t0 + 1s)});
    auto out = apply_search_page(s, page, 2, 5min);
    for (std::int64_t i = 1; i <= k_walk_restart_cap; ++i) {
        page.total_count = 10 + i;
        out = apply_search_page(out.next, page, 2, 5min);
        EXPECT_TRUE(out.restarted) << i;
        EXPECT_EQ(out.next.walk->restarts, i);
        EXPECT_EQ(out.next.walk->page, 1);
    }
    page.total_count = 100;
    out = apply_search_page(out.next, page, 2, 5min);
    EXPECT_FALSE(out.restarted);
    EXPECT_TRUE(out.moved_past_cap);
    EXPECT_EQ(out.next.walk->page, 2);  // the walk goes on
    auto back = struct_state::from_json(out.next.to_json());
    ASSERT_TRUE(std::holds_alternative<struct_state>(back));
    EXPECT_EQ(std::get<struct_state>(back).walk->restarts, k_walk_restart_cap);
}

TEST(struct_mapping, processed_uids_are_not_processed_again) {
    auto s = walking();
    auto t0 = at("2025-06-27T08:00:00Z");
    // Search order is the vendor's (StartTimestamp); processing goes by CommitTimestamp.
    // Outcomes point into their page: the pages are kept.
    auto page1 = page_of(3, 1, {tx("late", t0 + 9s), tx("b", t0 + 2s), tx("open", std::nullopt),
                                tx("a", t0 + 2s)});
    auto first = apply_search_page(s, page1, 100, 5min);
    EXPECT_TRUE(first.last);
    EXPECT_EQ(uids(first), (std::vector<std::string>{"a", "b", "late"}));
    EXPECT_EQ(first.uncommitted, 1u);
    EXPECT_EQ(first.next.watermark, t0 + 9s);

    // The next walk overlaps: the same uids come back with a new one that committed late,
    // before the watermark but within the overlap.
    auto next = first.next;
    next.walk = start_walk(next, 5min, std::nullopt, at("2025-06-27T09:01:00Z"));
    EXPECT_EQ(next.walk->after, t0 + 9s - 5min);
    auto page2 = page_of(4, 1, {tx("a", t0 + 2s), tx("b", t0 + 2s), tx("slow", t0 + 5s),
                                tx("late", t0 + 9s)});
    auto second = apply_search_page(next, page2, 100, 5min);
    EXPECT_EQ(uids(second), std::vector<std::string>{"slow"});
    EXPECT_EQ(second.next.watermark, t0 + 9s);

    // Uids older than the overlap are forgotten at the end of a walk.
    auto later = second.next;
    later.walk = start_walk(later, 5min, std::nullopt, at("2025-06-27T09:20:00Z"));
    auto third = apply_search_page(later, page_of(1, 1, {tx("new", t0 + 20min)}), 100, 5min);
    ASSERT_EQ(third.next.recent.size(), 1u);
    EXPECT_EQ(third.next.recent[0].second, "new");
}

TEST(struct_mapping, remembered_uids_are_bounded) {
    auto s = walking();
    std::vector<transaction> many;
    auto t0 = at("2025-06-27T08:59:00Z");
    for (std::size_t i = 0; i < k_recent_cap + 10; ++i) {
        many.push_back(tx("u" + std::to_string(i), t0 + std::chrono::microseconds(i)));
    }
    auto page = page_of(static_cast<std::int64_t>(many.size()), 1, many);
    auto out = apply_search_page(s, page, static_cast<std::int64_t>(many.size()), 5min);
    EXPECT_EQ(out.fresh.size(), many.size());
    ASSERT_EQ(out.next.recent.size(), k_recent_cap);
    EXPECT_EQ(out.next.recent.front().second, "u10");  // the oldest were dropped
}

TEST(struct_mapping, checkpoint_round_trip) {
    struct_state s;
    s.watermark = at("2025-06-27T08:00:00.123456Z");
    s.recent = {{at("2025-06-27T07:58:00Z"), "a"}, {at("2025-06-27T08:00:00.123456Z"), "b"}};
    s.walk = walk_state{at("2025-06-27T07:55:00Z"), at("2025-06-27T08:01:00Z"), 3, 100,
                        at("2025-06-27T08:00:30Z"), 250};
    auto back = struct_state::from_json(json::parse(json::serialize(s.to_json())));
    ASSERT_TRUE(std::holds_alternative<struct_state>(back));
    const auto& r = std::get<struct_state>(back);
    EXPECT_EQ(r.watermark, s.watermark);
    EXPECT_EQ(r.recent, s.recent);
    ASSERT_TRUE(r.walk);
    EXPECT_EQ(r.walk->after, s.walk->after);
    EXPECT_EQ(r.walk->before, s.walk->before);
    EXPECT_EQ(r.walk->page, 3);
    EXPECT_EQ(r.walk->page_len, 100);
    EXPECT_EQ(r.walk->max_commit, s.walk->max_commit);
    EXPECT_EQ(r.walk->total, 250);

    auto bad = [](std::string_view text) {
        return std::holds_alternative<std::string>(struct_state::from_json(json::parse(text)));
    };
    EXPECT_TRUE(bad(R"({"watermark": 5})"));
    EXPECT_TRUE(bad(R"({"recent": [["2025-06-27T08:00:00Z"]]})"));
    EXPECT_TRUE(bad(R"({"walk": {"page": 0, "before": "2025-06-27T08:00:00Z"}})"));
    EXPECT_FALSE(bad(R"({"watermark": null, "recent": [], "walk": null})"));
}

TEST(struct_mapping, batches_are_cut_at_the_limit) {
    std::vector<int> items(12001);
    auto parts = chunks(items, 5000);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].size(), 5000u);
    EXPECT_EQ(parts[2].size(), 2001u);
    EXPECT_TRUE(chunks(std::vector<int>{}, 5000).empty());
}

TEST(struct_mapping, vendor_error_texts) {
    EXPECT_EQ(error_text(R"({"Message": "Authorization has been denied for this request."})"),
              "Authorization has been denied for this request.");
    EXPECT_EQ(error_text(R"({"title": "One or more validation errors occurred.", "status": 400})"),
              "One or more validation errors occurred.");
}

}  // namespace
}  // namespace changefeed::sources::struct_pim
