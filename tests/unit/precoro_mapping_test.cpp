#include "sources/precoro/precoro_mapping.hpp"

#include "support/fixtures.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace changefeed::sources::precoro {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

time::time_point at(const char* text) { return *time::parse_rfc3339(text); }

std::string delivery_error(std::string_view body) {
    auto r = parse_delivery(body);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
}

delivery delivery_of(std::string_view body) {
    auto r = parse_delivery(body);
    EXPECT_TRUE(std::holds_alternative<delivery>(r)) << std::get<std::string>(r);
    return std::get<delivery>(r);
}

list_page page_of(const std::string& fixture) {
    auto parsed = parse_list(test::read_fixture("precoro/" + fixture));
    EXPECT_TRUE(std::holds_alternative<list_page>(parsed)) << std::get<std::string>(parsed);
    return std::get<list_page>(parsed);
}

entity_version entity_of(std::string_view body) {
    auto parsed = parse_entity(body);
    EXPECT_TRUE(std::holds_alternative<entity_version>(parsed)) << std::get<std::string>(parsed);
    return std::get<entity_version>(parsed);
}

TEST(precoro_mapping, reads_the_documented_webhook_body) {
    auto d = delivery_of(R"({"id":123456,"type":2,"action":0,"idn":5})");
    EXPECT_EQ(d.id, 123456);
    EXPECT_EQ(d.type, 2);
    EXPECT_EQ(d.action, 0);
    EXPECT_EQ(d.idn, "5");

    EXPECT_EQ(delivery_of(R"({"id":7,"type":7,"action":1})").idn, std::nullopt);
    EXPECT_EQ(delivery_of(R"({"id":7,"type":7,"action":1,"idn":null})").idn, std::nullopt);
    EXPECT_EQ(delivery_of(R"({"id":8,"type":3,"action":1,"idn":"PO-8"})").idn, "PO-8");
    // Members the vendor may add are not our business.
    EXPECT_EQ(delivery_of(R"({"id":8,"type":11,"action":1,"company":3})").type, 11);
}

TEST(precoro_mapping, a_malformed_webhook_body_names_its_problem) {
    EXPECT_NE(delivery_error("not json").find("not JSON"), std::string::npos);
    EXPECT_EQ(delivery_error("[1,2]"), "body is not a JSON object");
    EXPECT_NE(delivery_error(R"({"type":2,"action":0})").find("`id`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":"12","type":2,"action":0})").find("`id`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":2.0,"type":2,"action":0})").find("`id`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":0,"type":2,"action":0})").find("`id`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":1,"type":12,"action":0})").find("`type`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":1,"type":-1,"action":0})").find("`type`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":1,"type":"2","action":0})").find("`type`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":1,"type":2,"action":2})").find("`action`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":1,"type":2})").find("`action`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":1,"type":2,"action":1,"idn":{}})").find("`idn`"), std::string::npos);
    EXPECT_NE(delivery_error(R"({"id":1,"type":2,"action":1,"idn":""})").find("`idn`"), std::string::npos);
}

TEST(precoro_mapping, documents_are_read_by_idn_and_master_data_by_id) {
    ASSERT_EQ(entity_types().size(), 12u);
    EXPECT_EQ(type_of(2)->resource, "purchaseorders");
    EXPECT_EQ(type_of(3)->resource, "invoices");
    EXPECT_EQ(type_of(7)->resource, "suppliers");
    EXPECT_EQ(type_of(12), nullptr);
    EXPECT_EQ(type_of_resource("items"), nullptr);
    EXPECT_EQ(type_of_resource("receipts")->type, 5);

    EXPECT_EQ(detail_path(*type_of(2), 123456, std::string("5")), "/purchaseorders/5");
    EXPECT_EQ(detail_path(*type_of(7), 901, std::nullopt), "/suppliers/901");
    EXPECT_EQ(detail_path(*type_of(7), 901, std::string("5")), "/suppliers/901");
    EXPECT_EQ(detail_path(*type_of(3), 1, std::nullopt), std::nullopt);
    // An idn is a path segment: nothing that could leave it.
    EXPECT_EQ(detail_path(*type_of(3), 1, std::string("../suppliers")), std::nullopt);
    EXPECT_EQ(detail_path(*type_of(3), 1, std::string("5?x=1")), std::nullopt);
}

TEST(precoro_mapping, parses_list_pages_in_both_pagination_styles) {
    auto page = page_of("purchaseorders_page1.json");
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_TRUE(page.has_next_page);
    EXPECT_EQ(page.items[0].id, 123456);
    EXPECT_EQ(page.items[0].updated, at("2026-05-01T10:15:02Z"));
    // An offset is read as the instant it names.
    EXPECT_EQ(page.items[1].updated, at("2026-05-01T07:20:00Z"));
    EXPECT_EQ(page.items[1].created, page.items[1].updated);
    EXPECT_EQ(page.items[1].raw.at("externalId"), "ERP-6");

    auto legacy = page_of("suppliers_legacy_last_page.json");
    ASSERT_EQ(legacy.items.size(), 1u);
    EXPECT_FALSE(legacy.has_next_page);
    // No zone: UTC, the Decisions table's choice.
    EXPECT_EQ(legacy.items[0].updated, at("2026-05-01T07:59:59Z"));

    auto not_last = parse_list(R"({"data": [], "meta": {"pagination": {"current_page": 1, "total_pages": 2}}})");
    ASSERT_TRUE(std::holds_alternative<list_page>(not_last));
    EXPECT_TRUE(std::get<list_page>(not_last).has_next_page);
}

TEST(precoro_mapping, rejects_list_pages_the_vendor_does_not_send) {
    auto error = [](std::string_view body) {
        auto r = parse_list(body);
        return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
    };
    EXPECT_NE(error("<html>"), "");
    EXPECT_NE(error(R"({"items": [], "meta": {"pagination": {"has_next_page": false}}})"), "");
    EXPECT_NE(error(R"({"data": []})"), "");
    EXPECT_NE(error(R"({"data": [], "meta": {"pagination": {}}})"), "");
    EXPECT_NE(error(R"({"data": [], "meta": {"pagination": {"has_next_page": "no"}}})"), "");
    EXPECT_NE(error(R"({"data": [{"id": 1}], "meta": {"pagination": {"has_next_page": false}}})")
                  .find("updateDate"),
              std::string::npos);
    EXPECT_NE(error(R"({"data": [{"id": 1, "updateDate": "01.05.2026"}], "meta": {"pagination": {"has_next_page": false}}})"),
              "");
    EXPECT_EQ(error(R"({"data": [], "meta": {"pagination": {"has_next_page": false}}})"), "");
}

TEST(precoro_mapping, reads_the_429_body) {
    auto now = at("2026-05-01T10:30:00Z");
    auto daily = parse_throttle(test::read_fixture("precoro/error_429_daily.json"), now);
    ASSERT_TRUE(daily);
    EXPECT_EQ(daily->type, "Daily limiter");
    EXPECT_EQ(daily->retry_at, at("2026-05-02T00:00:00Z"));
    auto hourly = parse_throttle(test::read_fixture("precoro/error_429_hourly.json"), now);
    ASSERT_TRUE(hourly);
    EXPECT_EQ(hourly->retry_at, at("2026-05-01T11:00:00Z"));
    // A daily limiter without a readable time: the next day.
    auto vague = parse_throttle(R"({"RateLimit-Type": "Daily limiter", "RateLimit-Retry-After": "soon"})", now);
    ASSERT_TRUE(vague);
    EXPECT_EQ(vague->retry_at, at("2026-05-02T00:00:00Z"));
    EXPECT_FALSE(parse_throttle("Too Many Requests", now));
    EXPECT_FALSE(parse_throttle(R"({"message": "slow down"})", now));
    EXPECT_EQ(error_text(test::read_fixture("precoro/error_429_daily.json")), "Daily limiter");
    EXPECT_NE(error_text(test::read_fixture("precoro/error_422.json")).find("already fully paid"),
              std::string::npos);
}

TEST(precoro_mapping, modified_since_is_utc_seconds_without_a_zone) {
    EXPECT_EQ(format_modified_since(at("2026-05-01T10:15:02.999Z")), "2026-05-01T10:15:02");
    EXPECT_EQ(format_modified_since(at("2026-05-01T00:05:00+02:00")), "2026-04-30T22:05:00");
}

TEST(precoro_mapping, sweep_checkpoint_round_trips) {
    sweep_state s;
    s.watermark = at("2026-05-01T10:15:02Z");
    s.keys = {123456, 7};
    s.last_sweep_at = at("2026-05-01T10:20:00.123456Z");
    s.walk = sweep_walk{std::string("2026-05-01T10:05:02"), 3, at("2026-05-01T10:35:00Z"),
                        at("2026-05-01T10:30:00Z"), {9}};
    auto text = json::serialize(s.to_json());
    auto back = sweep_state::from_json(json::parse(text));
    ASSERT_TRUE(std::holds_alternative<sweep_state>(back)) << std::get<std::string>(back);
    const auto& r = std::get<sweep_state>(back);
    EXPECT_EQ(r.watermark, s.watermark);
    EXPECT_EQ(r.keys, s.keys);
    EXPECT_EQ(r.last_sweep_at, s.last_sweep_at);
    ASSERT_TRUE(r.walk);
    EXPECT_EQ(r.walk->since, s.walk->since);
    EXPECT_EQ(r.walk->page, 3);
    EXPECT_EQ(r.walk->started_at, s.walk->started_at);
    EXPECT_EQ(r.walk->high, s.walk->high);
    EXPECT_EQ(r.walk->high_keys, s.walk->high_keys);
    EXPECT_EQ(json::serialize(r.to_json()), text);

    auto fresh = sweep_state::from_json(json::parse(json::serialize(sweep_state{}.to_json())));
    ASSERT_TRUE(std::holds_alternative<sweep_state>(fresh));
    EXPECT_FALSE(std::get<sweep_state>(fresh).watermark);

    EXPECT_TRUE(std::holds_alternative<std::string>(sweep_state::from_json(json::parse("[]"))));
    EXPECT_TRUE(std::holds_alternative<std::string>(
        sweep_state::from_json(json::parse(R"({"watermark": "yesterday"})"))));
    EXPECT_TRUE(std::holds_alternative<std::string>(
        sweep_state::from_json(json::parse(R"({"keys": ["a"]})"))));
    EXPECT_TRUE(std::holds_alternative<std::string>(
        sweep_state::from_json(json::parse(R"({"walk": {"page": 0, "started_at": "2026-05-01T10:00:00Z"}})"))));
}

TEST(precoro_mapping, a_sweep_starts_from_the_watermark_minus_the_overlap_and_moves_it_when_done) {
    sweep_state s;
    auto first = start_walk(s, 10min, at("2026-05-01T12:00:00Z"));
    EXPECT_FALSE(first.since);  // no watermark: the whole list

    s.watermark = at("2026-05-01T10:15:02Z");
    s.keys = {1};
    s.walk = start_walk(s, 10min, at("2026-05-01T12:00:00Z"));
    EXPECT_EQ(s.walk->since, "2026-05-01T10:05:02");
    EXPECT_EQ(s.walk->page, 1);

    entity_version old_one{1, at("2026-05-01T10:15:02Z"), std::nullopt, {}};
    entity_version tie{2, at("2026-05-01T10:15:02Z"), std::nullopt, {}};
    entity_version newer{3, at("2026-05-01T11:00:00Z"), std::nullopt, {}};
    entity_version newer_tie{4, at("2026-05-01T11:00:00Z"), std::nullopt, {}};
    EXPECT_TRUE(at_watermark(s, old_one));
    EXPECT_FALSE(at_watermark(s, tie));
    EXPECT_FALSE(at_watermark(s, newer));
    for (const auto* e : {&old_one, &tie, &newer, &newer_tie, &newer}) {
        note_listed(*s.walk, *e);
    }
    EXPECT_EQ(s.walk->high, newer.updated);
    EXPECT_EQ(s.walk->high_keys, (std::vector<std::int64_t>{3, 4}));
    finish_walk(s);
    EXPECT_FALSE(s.walk);
    EXPECT_EQ(s.watermark, newer.updated);
    EXPECT_EQ(s.keys, (std::vector<std::int64_t>{3, 4}));
    EXPECT_EQ(s.last_sweep_at, at("2026-05-01T12:00:00Z"));

    // A walk that saw only older versions never moves the watermark back.
    s.walk = start_walk(s, 10min, at("2026-05-01T13:00:00Z"));
    note_listed(*s.walk, old_one);
    finish_walk(s);
    EXPECT_EQ(s.watermark, newer.updated);
    EXPECT_EQ(s.keys, (std::vector<std::int64_t>{3, 4}));
    // One at the watermark joins its keys.
    s.walk = start_walk(s, 10min, at("2026-05-01T14:00:00Z"));
    note_listed(*s.walk, entity_version{5, newer.updated, std::nullopt, {}});
    finish_walk(s);
    EXPECT_EQ(s.keys, (std::vector<std::int64_t>{3, 4, 5}));
}

TEST(precoro_mapping, versions_before_a_configured_start_are_never_emitted) {
    sweep_state s;
    s.watermark = at("2026-05-01T10:00:00.500Z");
    s.start = s.watermark;
    auto back = sweep_state::from_json(json::parse(json::serialize(s.to_json())));
    ASSERT_TRUE(std::holds_alternative<sweep_state>(back)) << std::get<std::string>(back);
    EXPECT_EQ(std::get<sweep_state>(back).start, s.start);
    EXPECT_FALSE(std::get<sweep_state>(sweep_state::from_json(sweep_state{}.to_json())).start);
    EXPECT_TRUE(std::holds_alternative<std::string>(
        sweep_state::from_json(json::parse(R"({"start": "soon"})"))));

    entity_version older{1, at("2026-05-01T09:55:00Z"), std::nullopt, {}};
    entity_version same_second{2, at("2026-05-01T10:00:00Z"), std::nullopt, {}};
    entity_version newer{3, at("2026-05-01T11:00:00Z"), std::nullopt, {}};
    // The overlap still reaches before the start (the vendor's zone is uncertain)...
    s.walk = start_walk(s, 10min, at("2026-05-01T12:00:00Z"));
    EXPECT_EQ(s.walk->since, "2026-05-01T09:50:00");
    // ...but what it lists before the start (updateDate has whole seconds) is not emitted.
    EXPECT_TRUE(before_start(s, older));
    EXPECT_FALSE(before_start(s, same_second));
    EXPECT_FALSE(before_start(s, newer));
    // Nor later, when the watermark moved on but a sweep's overlap still reaches before the start.
    note_listed(*s.walk, newer);
    finish_walk(s);
    s.walk = start_walk(s, 90min, at("2026-05-01T12:30:00Z"));
    EXPECT_EQ(s.walk->since, "2026-05-01T09:30:00");
    EXPECT_TRUE(before_start(s, older));
    EXPECT_FALSE(before_start(sweep_state{}, older)) << "no start: everything listed is the source's";
}

TEST(precoro_mapping, operation_is_insert_only_for_a_first_sighted_creation) {
    auto created = entity_of(test::read_fixture("precoro/invoice_detail.json"));
    auto updated = entity_of(R"({"id": 5, "createDate": "2026-05-01T11:00:00Z", "updateDate": "2026-05-01T12:00:00Z"})");
    known_entity seen{version_text(created.updated), json::value(created.raw), false};
    known_entity gone{version_text(created.updated), nullptr, true};

    EXPECT_EQ(operation_of(created, std::nullopt, nullptr), "insert");  // createDate == updateDate
    EXPECT_EQ(operation_of(updated, std::nullopt, nullptr), "update");
    EXPECT_EQ(operation_of(updated, 0, nullptr), "insert");  // webhook action 0 (coalesced)
    EXPECT_EQ(operation_of(updated, 1, nullptr), "update");
    EXPECT_EQ(operation_of(updated, 0, &seen), "update");  // an earlier version was emitted
    EXPECT_EQ(operation_of(updated, 0, &gone), "insert");  // it is back

    EXPECT_TRUE(already_known(&seen, created));
    EXPECT_FALSE(already_known(&seen, updated));
    EXPECT_FALSE(already_known(nullptr, created));
    known_entity newer{version_text(updated.updated), nullptr, false};
    EXPECT_TRUE(already_known(&newer, created));  // never emit an older version after a newer
}

TEST(precoro_mapping, one_entity_version_has_one_event_id_whichever_path_saw_it) {
    auto listed = page_of("purchaseorders_page1.json").items[0];
    // The detail of the same version may carry more members: the identity is the version.
    auto fetched = listed;
    fetched.raw["lines"] = json::array{};
    auto from_sweep = make_version_event("precoro", "purchaseorders", listed, "update", nullptr);
    auto from_webhook = make_version_event("precoro", "purchaseorders", fetched, "update", nullptr);
    EXPECT_EQ(from_sweep.event_id, from_webhook.event_id);
    EXPECT_EQ(from_sweep.resource_id, "123456");  // the id, not the idn
    EXPECT_EQ(from_sweep.occurred_at, "2026-05-01T10:15:02.000Z");
    EXPECT_EQ(from_sweep.source_kind, "precoro");
    EXPECT_FALSE(from_sweep.changes);  // first sight
    ASSERT_TRUE(from_sweep.data);
    EXPECT_EQ(from_sweep.data->at("idn"), "5");
    EXPECT_EQ(from_sweep.upstream, json::value(listed.raw));

    auto next = listed;
    next.updated += 1s;
    next.raw["status"] = 3;
    known_entity previous{version_text(listed.updated), json::value(listed.raw), false};
    auto update = make_version_event("precoro", "purchaseorders", next, "update", &previous);
    EXPECT_NE(update.event_id, from_sweep.event_id);
    ASSERT_TRUE(update.changes);
    EXPECT_EQ(json::serialize(*update.changes), R"([{"field":"/status","old":2,"new":3}])");
    EXPECT_NE(make_version_event("other", "purchaseorders", listed, "update", nullptr).event_id,
              from_sweep.event_id);
}

TEST(precoro_mapping, keyed_arrays_report_per_element_changes) {
    auto before = entity_of(test::read_fixture("precoro/invoice_detail.json"));
    before.raw["items"] = json::parse(R"([{"id": 1, "qty": 2}, {"id": 2, "qty": 5}])");
    auto after = before;
    after.updated += 1s;
    after.raw["items"] = json::parse(R"([{"id": 2, "qty": 6}, {"id": 1, "qty": 2}])");
    known_entity previous{version_text(before.updated), json::value(before.raw), false};

    auto whole = make_version_event("precoro", "invoices", after, "update", &previous);
    ASSERT_TRUE(whole.changes);
    ASSERT_EQ(whole.changes->as_array().size(), 1u);
    EXPECT_EQ(whole.changes->as_array()[0].at("field"), "/items");

    auto keys = core::parse_array_keys({"/items=id"});
    auto keyed = make_version_event("precoro", "invoices", after, "update", &previous,
                                    std::get<core::diff_options>(keys));
    ASSERT_TRUE(keyed.changes);
    EXPECT_EQ(json::serialize(*keyed.changes), R"([{"field":"/items/2/qty","old":5,"new":6}])");
    EXPECT_EQ(keyed.event_id, whole.event_id);
}

TEST(precoro_mapping, a_delete_is_identified_by_the_last_version_emitted) {
    known_entity last{"2026-05-01T10:15:02.000000Z", json::parse(R"({"id": 1})"), false};
    auto noticed = at("2026-05-01T12:00:00Z");
    auto d1 = make_delete_event("precoro", "invoices", 1, &last, noticed, {{"status", 404}});
    auto d2 = make_delete_event("precoro", "invoices", 1, &last, noticed + 1h, {{"status", 404}});
    EXPECT_EQ(d1.event_id, d2.event_id);  // a repeated 404 is the same change
    EXPECT_EQ(d1.operation, "delete");
    ASSERT_TRUE(d1.data);
    EXPECT_TRUE(d1.data->is_null());
    EXPECT_EQ(d1.occurred_at, "2026-05-01T12:00:00.000Z");
    // Never the id of the version it deletes.
    entity_version v{1, at("2026-05-01T10:15:02Z"), std::nullopt, json::object{{"id", 1}}};
    EXPECT_NE(d1.event_id, make_version_event("precoro", "invoices", v, "update", nullptr).event_id);
    // Never seen: one delete all the same.
    EXPECT_EQ(make_delete_event("precoro", "invoices", 2, nullptr, noticed, {}).event_id,
              make_delete_event("precoro", "invoices", 2, nullptr, noticed + 1h, {}).event_id);
}

}  // namespace
}  // namespace changefeed::sources::precoro
