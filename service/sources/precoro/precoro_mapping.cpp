#include "sources/precoro/precoro_mapping.hpp"

#include "core/json_diff.hpp"
#include "sources/common/json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace changefeed::sources::precoro {

namespace json = boost::json;

namespace {

// An integral JSON number as int64 (doubles never count: 2.0 is not an id).
std::optional<std::int64_t> integer(const json::value& v) {
    if (v.is_int64()) {
        return v.get_int64();
    }
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(v.get_uint64());
    }
    return std::nullopt;
}

std::optional<time::time_point> read_time(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return time::parse_rfc3339(v->get_string(), true);
}

json::value time_or_null(const std::optional<time::time_point>& t) {
    return t ? json::value(time::format_rfc3339_us(*t)) : json::value(nullptr);
}

std::variant<std::optional<time::time_point>, std::string> read_optional_time(const json::object& o,
                                                                              std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return std::optional<time::time_point>{};
    }
    auto t = v->is_string() ? time::parse_rfc3339(v->get_string()) : std::nullopt;
    if (!t) {
        return "checkpoint " + std::string(key) + " is not an RFC 3339 time";
    }
    return t;
}

std::optional<std::vector<std::int64_t>> read_ids(const json::object& o, std::string_view key) {
    std::vector<std::int64_t> ids;
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return ids;
    }
    if (!v->is_array()) {
        return std::nullopt;
    }
    for (const auto& id : v->get_array()) {
        auto n = integer(id);
        if (!n) {
            return std::nullopt;
        }
        ids.push_back(*n);
    }
    return ids;
}

json::array ids_json(const std::vector<std::int64_t>& ids) {
    json::array a;
    for (auto id : ids) {
        a.push_back(id);
    }
    return a;
}

}  // namespace

const std::vector<entity_type>& entity_types() {
    static const std::vector<entity_type> k{
        {0, "warehouserequests", true},     {1, "purchaserequisitions", true},
        {2, "purchaseorders", true},        {3, "invoices", true},
        {4, "rfps", true},                  {5, "receipts", true},
        {6, "expenses", true},              {7, "suppliers", false},
        {8, "stocktransfers", true},        {9, "budgets", false},
        {10, "documentcustomfields", false}, {11, "itemcustomfields", false},
    };
    return k;
}

const entity_type* type_of(int type) {
    const auto& all = entity_types();
    if (type < 0 || type >= static_cast<int>(all.size())) {
        return nullptr;
    }
    return &all[static_cast<std::size_t>(type)];
}

const entity_type* type_of_resource(std::string_view resource) {
    for (const auto& t : entity_types()) {
        if (t.resource == resource) {
            return &t;
        }
    }
    return nullptr;
}

std::variant<delivery, std::string> parse_delivery(std::string_view body) {
    std::string error;
    auto parsed = parse_object(body, error);
    if (!parsed) {
        return error;
    }
    const auto& o = *parsed;
    delivery d;
    const auto* id = o.if_contains("id");
    auto id_value = id != nullptr ? integer(*id) : std::nullopt;
    if (!id_value || *id_value <= 0) {
        return std::string("`id` must be a positive integer");
    }
    d.id = *id_value;
    const auto* type = o.if_contains("type");
    auto type_value = type != nullptr ? integer(*type) : std::nullopt;
    if (!type_value || *type_value < 0 || *type_value > 11) {
        return std::string("`type` must be an integer from 0 to 11");
    }
    d.type = static_cast<int>(*type_value);
    const auto* action = o.if_contains("action");
    auto action_value = action != nullptr ? integer(*action) : std::nullopt;
    if (!action_value || (*action_value != 0 && *action_value != 1)) {
        return std::string("`action` must be 0 (create) or 1 (update)");
    }
    d.action = static_cast<int>(*action_value);
    if (const auto* idn = o.if_contains("idn"); idn != nullptr && !idn->is_null()) {
        if (auto n = integer(*idn)) {
            d.idn = std::to_string(*n);
        } else if (idn->is_string() && !idn->get_string().empty() && idn->get_string().size() <= 64) {
            d.idn = std::string(idn->get_string());
        } else {
            return std::string("`idn` must be an integer or a non-empty string");
        }
    }
    return d;
}

std::optional<std::string> detail_path(const entity_type& t, std::int64_t id,
                                       const std::optional<std::string>& idn) {
    std::string base = "/" + std::string(t.resource) + "/";
    if (!t.by_idn) {
        return base + std::to_string(id);
    }
    // The idn lands in the path: only plain tokens (digits, letters, '-', '_') are used.
    if (!idn || idn->empty() ||
        !std::all_of(idn->begin(), idn->end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c == '-' || c == '_';
        })) {
        return std::nullopt;
    }
    return base + *idn;
}

std::variant<entity_version, std::string> read_entity(const json::value& v) {
    const auto* o = v.if_object();
    if (o == nullptr) {
        return std::string("an entity is not a JSON object");
    }
    const auto* id = o->if_contains("id");
    auto id_value = id != nullptr ? integer(*id) : std::nullopt;
    if (!id_value) {
        return std::string("an entity has no integer id");
    }
    auto updated = read_time(*o, "updateDate");
    if (!updated) {
        return "entity " + std::to_string(*id_value) + " has no readable updateDate";
    }
    entity_version e;
    e.id = *id_value;
    e.updated = *updated;
    e.created = read_time(*o, "createDate");
    e.raw = *o;
    return e;
}

std::variant<entity_version, std::string> parse_entity(std::string_view body) {
    std::string error;
    auto parsed = parse_object(body, error);
    if (!parsed) {
        return error;
    }
    return read_entity(json::value(std::move(*parsed)));
}

std::variant<list_page, std::string> parse_list(std::string_view body) {
    std::string error;
    auto parsed = parse_object(body, error);
    if (!parsed) {
        return error;
    }
    const auto& o = *parsed;
    const auto* data = o.if_contains("data");
    if (data == nullptr || !data->is_array()) {
        return std::string("data is missing or not an array");
    }
    list_page page;
    for (const auto& item : data->get_array()) {
        auto e = read_entity(item);
        if (auto* bad = std::get_if<std::string>(&e)) {
            return *bad;
        }
        page.items.push_back(std::get<entity_version>(std::move(e)));
    }
    const json::object* pagination = nullptr;
    if (const auto* meta = o.if_contains("meta"); meta != nullptr && meta->is_object()) {
        if (const auto* p = meta->get_object().if_contains("pagination"); p != nullptr && p->is_object()) {
            pagination = &p->get_object();
        }
    }
    if (pagination == nullptr) {
        return std::string("meta.pagination is missing");
    }
    if (const auto* more = pagination->if_contains("has_next_page"); more != nullptr) {
        if (!more->is_bool()) {
            return std::string("meta.pagination.has_next_page is not a boolean");
        }
        page.has_next_page = more->get_bool();
        return page;
    }
    const auto* current = pagination->if_contains("current_page");
    const auto* total = pagination->if_contains("total_pages");
    auto c = current != nullptr ? integer(*current) : std::nullopt;
    auto t = total != nullptr ? integer(*total) : std::nullopt;
    if (!c || !t) {
        return std::string("meta.pagination has neither has_next_page nor current_page/total_pages");
    }
    page.has_next_page = *c < *t;
    return page;
}

std::optional<throttle> parse_throttle(std::string_view body, time::time_point now) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    const auto& o = v.get_object();
    throttle t;
    if (const auto* type = o.if_contains("RateLimit-Type"); type != nullptr && type->is_string()) {
        t.type = std::string(type->get_string());
    }
    if (const auto* at = o.if_contains("RateLimit-Retry-After"); at != nullptr && at->is_string()) {
        std::string_view text = at->get_string();
        for (std::string_view zone : {" UTC", " GMT", "UTC", "Z"}) {
            if (text.size() > zone.size() && text.substr(text.size() - zone.size()) == zone) {
                text.remove_suffix(zone.size());
                break;
            }
        }
        t.retry_at = time::parse_rfc3339(text, true);
    }
    if (!t.retry_at && t.type.find("Daily") != std::string::npos) {
        auto today = std::chrono::floor<std::chrono::days>(now);
        t.retry_at = time::time_point(today + std::chrono::days(1));
    }
    if (t.type.empty() && !t.retry_at) {
        return std::nullopt;
    }
    return t;
}

std::string format_modified_since(time::time_point t) {
    // "2026-05-01T10:00:00.000Z" -> "2026-05-01T10:00:00"
    return time::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t)).substr(0, 19);
}

std::string version_text(time::time_point updated) { return time::format_rfc3339_us(updated); }

bool already_known(const known_entity* previous, const entity_version& seen) {
    if (previous == nullptr || previous->version.empty()) {
        return false;
    }
    auto known = time::parse_rfc3339(previous->version);
    return known && *known >= seen.updated;
}

std::string operation_of(const entity_version& seen, std::optional<int> webhook_action,
                         const known_entity* previous) {
    bool seen_before = previous != nullptr && !previous->deleted;
    bool creation = (webhook_action && *webhook_action == 0) ||
                    (seen.created && *seen.created == seen.updated);
    return creation && !seen_before ? "insert" : "update";
}

core::change_event make_version_event(const std::string& source, const std::string& resource,
                                      const entity_version& seen, const std::string& operation,
                                      const known_entity* previous,
                                      const core::diff_options& diff) {
    core::change_event e;
    auto id = std::to_string(seen.id);
    auto version = version_text(seen.updated);
    e.event_id = core::make_event_id({source, resource, id, version});
    e.source = source;
    e.source_kind = "precoro";
    e.resource = resource;
    e.resource_id = id;
    e.operation = operation;
    e.occurred_at = time::format_rfc3339(seen.updated);
    if (previous != nullptr && !previous->deleted && previous->data.is_object()) {
        e.changes = core::json_diff(previous->data, json::value(seen.raw), diff);
    }
    e.data = json::value(seen.raw);
    e.upstream = seen.raw;
    return e;
}

core::change_event make_delete_event(const std::string& source, const std::string& resource,
                                     std::int64_t id, const known_entity* previous,
                                     time::time_point noticed, json::object upstream) {
    core::change_event e;
    auto text = std::to_string(id);
    std::string last = previous != nullptr ? previous->version : std::string();
    e.event_id = core::make_event_id({source, resource, text, "delete", last});
    e.source = source;
    e.source_kind = "precoro";
    e.resource = resource;
    e.resource_id = text;
    e.operation = "delete";
    e.occurred_at = time::format_rfc3339(noticed);
    e.data = json::value(nullptr);
    e.upstream = std::move(upstream);
    return e;
}

json::value sweep_state::to_json() const {
    json::object o;
    o["watermark"] = time_or_null(watermark);
    o["keys"] = ids_json(keys);
    o["last_sweep_at"] = time_or_null(last_sweep_at);
    if (start) {
        o["start"] = time::format_rfc3339_us(*start);
    }
    if (walk) {
        json::object w;
        w["since"] = walk->since ? json::value(*walk->since) : json::value(nullptr);
        w["page"] = walk->page;
        w["started_at"] = time::format_rfc3339_us(walk->started_at);
        w["high"] = time_or_null(walk->high);
        w["high_keys"] = ids_json(walk->high_keys);
        o["walk"] = std::move(w);
    } else {
        o["walk"] = nullptr;
    }
    return o;
}

std::variant<sweep_state, std::string> sweep_state::from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (o == nullptr) {
        return std::string("checkpoint is not an object");
    }
    sweep_state s;
    auto watermark = read_optional_time(*o, "watermark");
    if (auto* bad = std::get_if<std::string>(&watermark)) {
        return *bad;
    }
    s.watermark = std::get<0>(watermark);
    auto last = read_optional_time(*o, "last_sweep_at");
    if (auto* bad = std::get_if<std::string>(&last)) {
        return *bad;
    }
    s.last_sweep_at = std::get<0>(last);
    auto keys = read_ids(*o, "keys");
    if (!keys) {
        return std::string("checkpoint keys is not an array of ids");
    }
    s.keys = std::move(*keys);
    auto start = read_optional_time(*o, "start");
    if (auto* bad = std::get_if<std::string>(&start)) {
        return *bad;
    }
    s.start = std::get<0>(start);
    const auto* walk = o->if_contains("walk");
    if (walk != nullptr && !walk->is_null()) {
        const auto* w = walk->if_object();
        if (w == nullptr) {
            return std::string("checkpoint walk is not an object");
        }
        sweep_walk sw;
        if (const auto* since = w->if_contains("since"); since != nullptr && since->is_string()) {
            sw.since = std::string(since->get_string());
        }
        const auto* page = w->if_contains("page");
        auto page_value = page != nullptr ? integer(*page) : std::nullopt;
        if (!page_value || *page_value < 1) {
            return std::string("checkpoint walk.page is not a positive integer");
        }
        sw.page = *page_value;
        auto started = read_optional_time(*w, "started_at");
        if (std::holds_alternative<std::string>(started) || !std::get<0>(started)) {
            return std::string("checkpoint walk.started_at is not an RFC 3339 time");
        }
        sw.started_at = *std::get<0>(started);
        auto high = read_optional_time(*w, "high");
        if (auto* bad = std::get_if<std::string>(&high)) {
            return *bad;
        }
        sw.high = std::get<0>(high);
        auto high_keys = read_ids(*w, "high_keys");
        if (!high_keys) {
            return std::string("checkpoint walk.high_keys is not an array of ids");
        }
        sw.high_keys = std::move(*high_keys);
        s.walk = std::move(sw);
    }
    return s;
}

sweep_walk start_walk(const sweep_state& state, std::chrono::microseconds overlap,
                      time::time_point now) {
    sweep_walk w;
    if (state.watermark) {
        w.since = format_modified_since(*state.watermark - overlap);
    }
    w.page = 1;
    w.started_at = now;
    return w;
}

void note_listed(sweep_walk& walk, const entity_version& seen) {
    if (!walk.high || seen.updated > *walk.high) {
        walk.high = seen.updated;
        walk.high_keys = {seen.id};
    } else if (seen.updated == *walk.high &&
               std::find(walk.high_keys.begin(), walk.high_keys.end(), seen.id) == walk.high_keys.end()) {
        walk.high_keys.push_back(seen.id);
    }
}

void finish_walk(sweep_state& state) {
    if (!state.walk) {
        return;
    }
    auto& w = *state.walk;
    if (w.high) {
        if (!state.watermark || *w.high > *state.watermark) {
            state.watermark = w.high;
            state.keys = w.high_keys;
        } else if (*w.high == *state.watermark) {
            for (auto id : w.high_keys) {
                if (std::find(state.keys.begin(), state.keys.end(), id) == state.keys.end()) {
                    state.keys.push_back(id);
                }
            }
        }
    }
    state.last_sweep_at = w.started_at;
    state.walk.reset();
}

bool before_start(const sweep_state& state, const entity_version& seen) {
    // updateDate has whole seconds: a change in the start's own second is not before it.
    return state.start && seen.updated < std::chrono::floor<std::chrono::seconds>(*state.start);
}

bool at_watermark(const sweep_state& state, const entity_version& seen) {
    return state.watermark && seen.updated == *state.watermark &&
           std::find(state.keys.begin(), state.keys.end(), seen.id) != state.keys.end();
}

std::string error_text(std::string_view body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        if (const auto* m = o.if_contains("message"); m != nullptr && m->is_string()) {
            return std::string(m->get_string());
        }
        if (const auto* e = o.if_contains("errors"); e != nullptr) {
            return json::serialize(*e).substr(0, 200);
        }
        if (const auto* t = o.if_contains("RateLimit-Type"); t != nullptr && t->is_string()) {
            return std::string(t->get_string());
        }
    }
    std::string text(body.substr(0, 200));
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

}  // namespace changefeed::sources::precoro
