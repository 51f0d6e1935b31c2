// retailCRM's pure mapping from recorded history pages: one event per record, the vendor's value
// types kept in `changes`, actors, operations, account time, the sinceId checkpoint, own changes
// and the vendor's error texts.
#include "sources/retailcrm/retailcrm_mapping.hpp"
#include "support/fixtures.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <set>

namespace changefeed::sources::retailcrm {
namespace {

namespace json = boost::json;

history_page page_of(const std::string& resource, const std::string& fixture) {
    auto parsed = parse_history(resource, test::read_fixture("retailcrm/" + fixture));
    EXPECT_TRUE(std::holds_alternative<history_page>(parsed)) << std::get<std::string>(parsed);
    return std::get<history_page>(parsed);
}

account_zone utc() { return std::get<account_zone>(account_zone::load("UTC")); }

std::vector<core::change_event>
events_of(const std::string& resource, const history_page& page, const account_zone& zone) {
    std::vector<core::change_event> out;
    for (const auto& r : page.records) {
        out.push_back(make_event("crm", resource, r, zone));
    }
    return out;
}

json::value change(std::string_view field, json::value old_value, json::value new_value) {
    return json::array{json::object{{"field", field}, {"old", old_value}, {"new", new_value}}};
}

TEST(retailcrm_mapping, methods_paths_and_entity_keys) {
    EXPECT_EQ(history_path("orders"), "/orders/history");
    EXPECT_EQ(history_path("customers"), "/customers/history");
    EXPECT_EQ(history_path("customers_corporate"), "/customers-corporate/history");
    EXPECT_EQ(history_path("orders_packs"), "/orders/packs/history");
    EXPECT_EQ(history_path("tasks"), "/tasks/history");
    EXPECT_EQ(history_path("products"), "");
    EXPECT_EQ(entity_key("orders"), "order");
    EXPECT_EQ(entity_key("customers_corporate"), "customer");
    EXPECT_EQ(entity_key("orders_packs"), "pack");
    EXPECT_EQ(entity_key("tasks"), "task");
}

TEST(retailcrm_mapping, one_event_per_order_history_record_with_vendor_value_types) {
    auto page = page_of("orders", "orders_history.json");
    ASSERT_EQ(page.records.size(), 8u);
    ASSERT_TRUE(page.pages);
    EXPECT_EQ(page.pages->total_page_count, 1);
    auto events = events_of("orders", page, utc());

    std::set<std::string> ids;
    for (const auto& e : events) {
        ids.insert(e.event_id);
        EXPECT_EQ(e.source_kind, "retailcrm");
        EXPECT_EQ(e.resource, "orders");
        EXPECT_FALSE(e.data);
    }
    EXPECT_EQ(ids.size(), events.size());

    // A creation record naming a field: insert, with the snapshot kept and a null old value.
    const auto& created = events[0];
    EXPECT_EQ(created.operation, "insert");
    EXPECT_EQ(created.resource_id, "2031");
    EXPECT_EQ(created.occurred_at, "2018-10-02T13:30:06.000Z");
    EXPECT_EQ(*created.changes, change("status", nullptr, json::object{{"code", "new"}}));
    EXPECT_EQ(*created.actor,
              json::value(json::object{{"type", "user"}, {"id", "123"}, {"source", "user"}}));
    EXPECT_DOUBLE_EQ(created.upstream.at("order").at("totalSumm").as_double(), 1580.5);

    // A string with no old value, made by another integration's key.
    EXPECT_EQ(events[1].operation, "update");
    EXPECT_EQ(*events[1].changes,
              change("statusComment", nullptr, "Items arrival is expected tomorrow"));
    EXPECT_EQ(*events[1].actor,
              json::value(json::object{{"type", "api"}, {"own_key", false}, {"source", "api"}}));

    // Numbers stay numbers (a fraction and an integer), and our own key is flagged.
    auto discount = events[2].changes->at(0).as_object();
    EXPECT_TRUE(discount.at("old").is_double());
    EXPECT_DOUBLE_EQ(discount.at("old").as_double(), 250.5);
    EXPECT_TRUE(discount.at("new").is_int64());
    EXPECT_EQ(discount.at("new").as_int64(), 260);
    EXPECT_EQ(*events[2].actor,
              json::value(json::object{{"type", "api"}, {"own_key", true}, {"source", "api"}}));

    // Booleans, and a user change whose user the vendor left out.
    EXPECT_EQ(*events[3].changes, change("expired", false, true));
    EXPECT_EQ(*events[3].actor, json::value(json::object{{"type", "user"}, {"source", "user"}}));

    // Dates stay the vendor's strings.
    EXPECT_EQ(*events[4].changes, change("deliveryDate", nullptr, "2015-03-25 12:15:00"));
    EXPECT_EQ(events[4].resource_id, "2032");

    // An item's status: a directory object with `cancel`; the item travels in upstream.
    EXPECT_EQ(*events[5].changes, change("status", json::object{{"code", "new"}},
                                         json::object{{"code", "out-of-stock"}, {"cancel", true}}));
    EXPECT_EQ(events[5].upstream.at("item").at("id").as_int64(), 160);

    // A merge: the absorbed order is deleted, combinedTo is kept, a trigger made it.
    EXPECT_EQ(events[6].operation, "delete");
    EXPECT_FALSE(events[6].changes);
    EXPECT_EQ(*events[6].actor, json::value(json::object{{"type", "system"}, {"source", "code"}}));
    EXPECT_EQ(events[6].upstream.at("combinedTo").at("id").as_int64(), 2040);

    // A value removed: no newValue is a null new value.
    EXPECT_EQ(*events[7].changes, change("statusComment", "Call before delivery", nullptr));

    // The raw record is kept as received.
    EXPECT_EQ(events[2].upstream, json::parse(json::serialize(page.records[2].raw)));
}

TEST(retailcrm_mapping, event_ids_follow_source_resource_and_history_id) {
    auto page = page_of("orders", "orders_history.json");
    auto zone = utc();
    auto a = make_event("crm", "orders", page.records[0], zone);
    auto b = make_event("crm", "orders", page.records[0], zone);
    EXPECT_EQ(a.event_id, b.event_id);
    EXPECT_EQ(a.event_id, core::make_event_id({"crm", "orders", "7038"}));
    EXPECT_NE(a.event_id, make_event("crm2", "orders", page.records[0], zone).event_id);
    EXPECT_NE(a.event_id, make_event("crm", "customers", page.records[0], zone).event_id);
}

TEST(retailcrm_mapping, every_method_reads_its_entity_key) {
    auto zone = utc();
    auto customers = events_of("customers", page_of("customers", "customers_history.json"), zone);
    ASSERT_EQ(customers.size(), 3u);
    EXPECT_EQ(customers[0].operation, "insert");
    EXPECT_FALSE(customers[0].changes);  // a creation that names no field
    EXPECT_EQ(customers[0].resource_id, "4924");
    EXPECT_EQ(*customers[1].changes, change("birthday", nullptr, "1990-05-17"));
    EXPECT_EQ(customers[2].operation, "delete");
    EXPECT_EQ(customers[2].resource_id, "4925");
    EXPECT_EQ(customers[2].upstream.at("combinedTo").at("id").as_int64(), 4930);

    auto corporate =
        events_of("customers_corporate",
                  page_of("customers_corporate", "customers_corporate_history.json"), zone);
    ASSERT_EQ(corporate.size(), 1u);
    EXPECT_EQ(corporate[0].resource_id, "55");
    EXPECT_EQ(corporate[0].resource, "customers_corporate");

    auto packs =
        events_of("orders_packs", page_of("orders_packs", "orders_packs_history.json"), zone);
    ASSERT_EQ(packs.size(), 2u);
    EXPECT_EQ(packs[0].resource_id, "77");
    EXPECT_EQ(packs[0].operation, "insert");
    EXPECT_EQ(*packs[0].changes, change("quantity", nullptr, 2));
    // Pack history has no apiKey: an API change without saying whose key.
    EXPECT_EQ(*packs[0].actor, json::value(json::object{{"type", "api"}, {"source", "api"}}));
    EXPECT_EQ(*packs[1].changes,
              change("store", json::object{{"code", "main"}}, json::object{{"code", "south"}}));

    auto tasks = events_of("tasks", page_of("tasks", "tasks_history.json"), zone);
    ASSERT_EQ(tasks.size(), 2u);
    EXPECT_EQ(tasks[0].resource_id, "501");
    EXPECT_EQ(*tasks[1].changes, change("datetime", "2021-02-26 10:00:00", "2021-02-27 10:00:00"));

    // The wrong method's entity key is not there.
    auto wrong = parse_history("tasks", test::read_fixture("retailcrm/orders_history.json"));
    ASSERT_TRUE(std::holds_alternative<std::string>(wrong));
    EXPECT_EQ(std::get<std::string>(wrong), "history record 7038 lacks task.id");
}

TEST(retailcrm_mapping, created_at_is_read_in_the_account_time_zone) {
    auto page = page_of("orders", "orders_history.json");
    auto moscow = std::get<account_zone>(account_zone::load("+03:00"));
    EXPECT_EQ(make_event("crm", "orders", page.records[0], moscow).occurred_at,
              "2018-10-02T10:30:06.000Z");
    auto west = std::get<account_zone>(account_zone::load("-05:30"));
    EXPECT_EQ(make_event("crm", "orders", page.records[0], west).occurred_at,
              "2018-10-02T19:00:06.000Z");
}

TEST(retailcrm_mapping, rejects_what_the_vendor_does_not_send) {
    auto error = [](std::string_view body) {
        auto r = parse_history("orders", body);
        return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
    };
    EXPECT_EQ(error(R"({"success": true, "history": []})"), "");
    EXPECT_NE(error("[]"), "");
    EXPECT_NE(error("not json"), "");
    EXPECT_EQ(error(R"({"history": []})"), "success is missing or not a boolean");
    EXPECT_EQ(error(R"({"success": true})"), "history is missing or not an array");
    EXPECT_EQ(error(R"({"success": false, "errorMsg": "Access denied."})"),
              "success is false: Access denied.");
    EXPECT_EQ(
        error(R"({"success": true, "history": [{"id": "7", "createdAt": "2021-02-25 20:41:40", )"
              R"("order": {"id": 1}}]})"),
        "a history record lacks an integer id");
    EXPECT_EQ(
        error(R"({"success": true, "history": [{"id": 7, "createdAt": "2021-02-25T20:41:40Z", )"
              R"("order": {"id": 1}}]})"),
        "history record 7 lacks a createdAt of the form \"Y-m-d H:i:s\"");
    EXPECT_EQ(
        error(R"({"success": true, "history": [{"id": 7, "createdAt": "2021-02-25 20:41:40"}]})"),
        "history record 7 lacks order.id");
    EXPECT_NE(
        error(test::read_fixture("retailcrm/account_missing.html")).find("account does not exist"),
        std::string::npos);
}

TEST(retailcrm_mapping, since_id_moves_past_every_record_and_repeats_are_dropped) {
    auto page = page_of("orders", "orders_history.json");
    resource_state state;
    state.start_date = "2018-10-01 00:00:00";
    auto out = apply_page(state, page, 20, false);
    EXPECT_EQ(out.fresh.size(), 8u);
    EXPECT_EQ(out.next.since_id, 7045);
    EXPECT_FALSE(out.next.start_date);  // never startDate and sinceId together
    EXPECT_FALSE(out.more);             // totalPageCount 1

    // The same page again (a vendor that answered >= instead of >) emits nothing.
    auto again = apply_page(out.next, page, 20, false);
    EXPECT_TRUE(again.fresh.empty());
    EXPECT_EQ(again.next, out.next);
    EXPECT_FALSE(again.more);

    // Part of it: only what is beyond since_id.
    resource_state midway;
    midway.since_id = 7042;
    auto rest = apply_page(midway, page, 20, false);
    ASSERT_EQ(rest.fresh.size(), 3u);
    EXPECT_EQ(rest.fresh[0]->id, 7043);

    // An empty page changes nothing, and the pinned bootstrap date stays.
    history_page empty;
    auto none = apply_page(state, empty, 20, false);
    EXPECT_EQ(none.next, state);
    EXPECT_FALSE(none.more);
}

TEST(retailcrm_mapping, a_page_out_of_id_order_or_with_a_repeat_loses_nothing) {
    auto parsed = parse_history("orders", R"({"success": true, "history": [
        {"id": 12, "createdAt": "2021-02-25 20:41:40", "order": {"id": 1}},
        {"id": 10, "createdAt": "2021-02-25 20:41:40", "order": {"id": 1}},
        {"id": 11, "createdAt": "2021-02-25 20:41:40", "order": {"id": 2}},
        {"id": 10, "createdAt": "2021-02-25 20:41:40", "order": {"id": 1}},
        {"id": 9, "createdAt": "2021-02-25 20:41:39", "order": {"id": 3}}]})");
    ASSERT_TRUE(std::holds_alternative<history_page>(parsed));
    resource_state state;
    state.since_id = 9;
    auto out = apply_page(state, std::get<history_page>(parsed), 20, false);
    std::vector<std::int64_t> ids;
    for (const auto* r : out.fresh) {
        ids.push_back(r->id);
    }
    EXPECT_EQ(ids, (std::vector<std::int64_t>{10, 11, 12}));
    EXPECT_EQ(out.next.since_id, 12);
}

TEST(retailcrm_mapping, more_follows_the_pagination_envelope) {
    auto page = page_of("orders", "orders_history_full_page.json");
    auto out = apply_page({}, page, 20, false);
    EXPECT_TRUE(out.more);  // totalPageCount 3 although only 2 records came
    EXPECT_EQ(out.next.since_id, 102);

    // Without an envelope, a full page means more.
    page.pages.reset();
    EXPECT_FALSE(apply_page({}, page, 20, false).more);
    EXPECT_TRUE(apply_page({}, page, 2, false).more);
}

TEST(retailcrm_mapping, own_changes_are_flagged_or_skipped_but_always_passed) {
    auto page = page_of("orders", "orders_history.json");
    EXPECT_TRUE(is_own_change(page.records[2].raw));
    EXPECT_FALSE(is_own_change(page.records[1].raw));
    EXPECT_FALSE(is_own_change(page.records[0].raw));

    auto kept = apply_page({}, page, 20, false);
    EXPECT_EQ(kept.fresh.size(), 8u);
    EXPECT_EQ(kept.skipped_own, 0u);

    auto skipped = apply_page({}, page, 20, true);
    EXPECT_EQ(skipped.fresh.size(), 7u);
    EXPECT_EQ(skipped.skipped_own, 1u);
    for (const auto* r : skipped.fresh) {
        EXPECT_NE(r->id, 7040);
    }
    EXPECT_EQ(skipped.next.since_id, 7045);

    // A page of nothing but our own changes still moves the checkpoint (and asks for more).
    auto own_only = page_of("orders", "orders_history_full_page.json");
    own_only.records.erase(own_only.records.begin());
    auto out = apply_page({}, own_only, 20, true);
    EXPECT_TRUE(out.fresh.empty());
    EXPECT_EQ(out.next.since_id, 102);
    EXPECT_TRUE(out.more);
}

TEST(retailcrm_mapping, a_change_through_our_key_is_flagged_even_when_it_names_a_user) {
    auto parsed = parse_history("orders", R"({"success": true, "history": [
        {"id": 1, "createdAt": "2021-02-25 20:41:40", "source": "api", "user": {"id": 7},
         "apiKey": {"current": true}, "order": {"id": 1}},
        {"id": 2, "createdAt": "2021-02-25 20:41:40", "source": "api", "user": {"id": 7},
         "apiKey": {"current": false}, "order": {"id": 1}}]})");
    ASSERT_TRUE(std::holds_alternative<history_page>(parsed));
    const auto& page = std::get<history_page>(parsed);
    auto events = events_of("orders", page, utc());
    auto actor = [](bool own) {
        return json::value(
            json::object{{"type", "user"}, {"id", "7"}, {"own_key", own}, {"source", "api"}});
    };
    EXPECT_EQ(*events[0].actor, actor(true));
    EXPECT_EQ(*events[1].actor, actor(false));
    auto skipped = apply_page({}, page, 20, true);
    ASSERT_EQ(skipped.fresh.size(), 1u);
    EXPECT_EQ(skipped.fresh[0]->id, 2);
    EXPECT_EQ(skipped.skipped_own, 1u);
}

TEST(retailcrm_mapping, checkpoint_round_trip) {
    resource_state s;
    EXPECT_EQ(json::serialize(s.to_json()), R"({"since_id":null})");
    s.start_date = "2024-05-01 00:00:00";
    auto back = resource_state::from_json(json::parse(json::serialize(s.to_json())));
    ASSERT_TRUE(std::holds_alternative<resource_state>(back));
    EXPECT_EQ(std::get<resource_state>(back), s);

    s = {};
    s.since_id = 29733;
    EXPECT_EQ(json::serialize(s.to_json()), R"({"since_id":29733})");
    back = resource_state::from_json(json::parse(R"({"since_id":29733})"));
    EXPECT_EQ(std::get<resource_state>(back), s);

    auto bad = [](std::string_view text) {
        return std::holds_alternative<std::string>(resource_state::from_json(json::parse(text)));
    };
    EXPECT_TRUE(bad("[]"));
    EXPECT_TRUE(bad(R"({"since_id": "12"})"));
    EXPECT_TRUE(bad(R"({"since_id": -1})"));
    EXPECT_TRUE(bad(R"({"since_id": null, "start_date": "yesterday"})"));
    EXPECT_FALSE(bad("{}"));
}

TEST(retailcrm_mapping, error_texts_name_the_vendor_message) {
    EXPECT_EQ(error_text(400, test::read_fixture("retailcrm/error_validation.json")),
              "Validation error (limit: The value you selected is not a valid choice.)");
    EXPECT_EQ(error_text(400, test::read_fixture("retailcrm/error_list.json")), "first; second");
    EXPECT_EQ(error_text(403, test::read_fixture("retailcrm/error_wrong_key.json")),
              "Wrong \"apiKey\" value.");
    EXPECT_EQ(error_text(404, test::read_fixture("retailcrm/account_missing.html")),
              "an HTML page, not JSON: the retailCRM account does not exist (check base_url)");
    EXPECT_EQ(error_text(503, test::read_fixture("retailcrm/throttled_503.html")),
              "an HTML error page (the service is unavailable or throttling this key)");
    EXPECT_EQ(error_text(500, "oops\nsomething"), "oops something");
    EXPECT_TRUE(looks_like_html("  \n<html>"));
    EXPECT_FALSE(looks_like_html(R"({"success": false})"));
}

}  // namespace
}  // namespace changefeed::sources::retailcrm
