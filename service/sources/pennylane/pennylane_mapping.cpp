#include "sources/pennylane/pennylane_mapping.hpp"

#include "sources/common/json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <unordered_set>

namespace changefeed::sources::pennylane {

namespace json = boost::json;

namespace {

const json::value* member(const json::object& o, std::string_view key) { return o.if_contains(key); }

std::optional<std::string> optional_cursor(const json::object& o) {
    const auto* c = member(o, "next_cursor");
    if (c != nullptr && c->is_string() && !c->get_string().empty()) {
        return std::string(c->get_string());
    }
    return std::nullopt;
}

// `has_more` (required) and `next_cursor` (string or null) of a page envelope.
std::optional<std::string> read_envelope(const json::object& o, bool& has_more,
                                         std::optional<std::string>& next_cursor) {
    const auto* more = member(o, "has_more");
    if (more == nullptr || !more->is_bool()) {
        return "has_more is missing or not a boolean";
    }
    has_more = more->get_bool();
    const auto* cursor = member(o, "next_cursor");
    if (cursor != nullptr && !cursor->is_string() && !cursor->is_null()) {
        return "next_cursor is neither a string nor null";
    }
    next_cursor = optional_cursor(o);
    return std::nullopt;
}


struct key_hash {
    std::size_t operator()(const change_key& k) const {
        auto h = std::hash<std::int64_t>()(k.processed_at.time_since_epoch().count());
        h ^= std::hash<std::int64_t>()(k.id) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h ^= std::hash<std::string>()(k.operation) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        return h;
    }
};

// Moves the floor to watermark - overlap (or higher, to keep at most k_recent_cap keys, cutting
// only between timestamps) and drops the keys below it.
void prune(resource_state& s, std::chrono::microseconds overlap) {
    if (!s.watermark) {
        return;
    }
    auto lower = *s.watermark - overlap;
    if (s.floor && *s.floor > lower) {
        lower = *s.floor;
    }
    std::sort(s.recent.begin(), s.recent.end(),
              [](const change_key& a, const change_key& b) { return a.processed_at > b.processed_at; });
    std::size_t kept = 0;
    auto floor = lower;
    for (; kept < s.recent.size(); ++kept) {
        const auto& k = s.recent[kept];
        if (k.processed_at < lower) {
            break;
        }
        if (kept >= k_recent_cap && k.processed_at < s.recent[kept - 1].processed_at) {
            floor = s.recent[kept - 1].processed_at;
            break;
        }
    }
    s.recent.resize(kept);
    std::reverse(s.recent.begin(), s.recent.end());
    s.floor = floor;
}

}  // namespace

json::value resource_state::to_json() const {
    json::object o;
    o["watermark"] = watermark ? json::value(time::format_rfc3339_us(*watermark)) : json::value(nullptr);
    o["floor"] = floor ? json::value(time::format_rfc3339_us(*floor)) : json::value(nullptr);
    json::array keys;
    for (const auto& k : recent) {
        keys.push_back(json::array{json::value(time::format_rfc3339_us(k.processed_at)), k.id,
                                   json::value(k.operation)});
    }
    o["recent"] = std::move(keys);
    if (cursor) {
        o["cursor"] = *cursor;
    }
    if (resync) {
        json::object r{{"started_at", time::format_rfc3339_us(resync->started_at)},
                       {"pages", resync->pages},
                       {"events", resync->events}};
        r["cursor"] = resync->cursor ? json::value(*resync->cursor) : json::value(nullptr);
        o["resync"] = std::move(r);
    }
    return o;
}

std::variant<resource_state, std::string> resource_state::from_json(const json::value& v) {
    if (!v.is_object()) {
        return std::string("checkpoint is not an object");
    }
    const auto& o = v.as_object();
    resource_state s;
    if (const auto* w = member(o, "watermark"); w != nullptr && !w->is_null()) {
        auto t = w->is_string() ? time::parse_rfc3339(w->get_string()) : std::nullopt;
        if (!t) {
            return std::string("checkpoint watermark is not an RFC 3339 time");
        }
        s.watermark = t;
    }
    if (const auto* f = member(o, "floor"); f != nullptr && !f->is_null()) {
        auto t = f->is_string() ? time::parse_rfc3339(f->get_string()) : std::nullopt;
        if (!t) {
            return std::string("checkpoint floor is not an RFC 3339 time");
        }
        s.floor = t;
    }
    if (const auto* r = member(o, "recent"); r != nullptr) {
        if (!r->is_array()) {
            return std::string("checkpoint recent is not an array");
        }
        for (const auto& entry : r->get_array()) {
            const auto* a = entry.if_array();
            if (a == nullptr || a->size() != 3 || !(*a)[0].is_string() || !(*a)[1].is_int64() ||
                !(*a)[2].is_string()) {
                return std::string("checkpoint recent entry is not [time, id, operation]");
            }
            auto t = time::parse_rfc3339((*a)[0].get_string());
            if (!t) {
                return std::string("checkpoint recent entry has a bad time");
            }
            s.recent.push_back({*t, (*a)[1].get_int64(), std::string((*a)[2].get_string())});
        }
    }
    if (const auto* c = member(o, "cursor"); c != nullptr && c->is_string()) {
        s.cursor = std::string(c->get_string());
    }
    if (const auto* r = member(o, "resync"); r != nullptr && r->is_object()) {
        const auto& ro = r->get_object();
        const auto* started = member(ro, "started_at");
        auto t = started != nullptr && started->is_string() ? time::parse_rfc3339(started->get_string())
                                                            : std::nullopt;
        if (!t) {
            return std::string("checkpoint resync.started_at is not an RFC 3339 time");
        }
        resync_progress p;
        p.started_at = *t;
        if (const auto* c = member(ro, "cursor"); c != nullptr && c->is_string()) {
            p.cursor = std::string(c->get_string());
        }
        if (const auto* n = member(ro, "pages"); n != nullptr && n->is_number()) {
            p.pages = n->to_number<std::uint64_t>();
        }
        if (const auto* n = member(ro, "events"); n != nullptr && n->is_number()) {
            p.events = n->to_number<std::uint64_t>();
        }
        s.resync = p;
    }
    return s;
}

std::variant<changelog_page, std::string> parse_changelog(std::string_view body) {
    std::string error;
    auto o = parse_object(body, error);
    if (!o) {
        return error;
    }
    changelog_page page;
    if (auto bad = read_envelope(*o, page.has_more, page.next_cursor)) {
        return *bad;
    }
    const auto* items = member(*o, "items");
    if (items == nullptr || !items->is_array()) {
        return std::string("items is missing or not an array");
    }
    for (const auto& v : items->get_array()) {
        const auto* item = v.if_object();
        if (item == nullptr) {
            return std::string("an item is not an object");
        }
        const auto* id = member(*item, "id");
        const auto* op = member(*item, "operation");
        const auto* at = member(*item, "processed_at");
        if (id == nullptr || !id->is_int64() || op == nullptr || !op->is_string() || at == nullptr ||
            !at->is_string()) {
            return std::string("an item lacks an integer id, an operation or processed_at");
        }
        auto processed = time::parse_rfc3339(at->get_string());
        if (!processed) {
            return "processed_at is not an RFC 3339 time: " + std::string(at->get_string());
        }
        changelog_item entry;
        entry.key = {*processed, id->get_int64(), std::string(op->get_string())};
        entry.raw = *item;
        page.items.push_back(std::move(entry));
    }
    return page;
}

std::variant<list_page, std::string> parse_list(std::string_view body) {
    std::string error;
    auto o = parse_object(body, error);
    if (!o) {
        return error;
    }
    list_page page;
    if (auto bad = read_envelope(*o, page.has_more, page.next_cursor)) {
        return *bad;
    }
    const auto* items = member(*o, "items");
    if (items == nullptr || !items->is_array()) {
        return std::string("items is missing or not an array");
    }
    for (const auto& v : items->get_array()) {
        const auto* item = v.if_object();
        if (item == nullptr || member(*item, "id") == nullptr || !item->at("id").is_int64()) {
            return std::string("a listed record is not an object with an integer id");
        }
        page.items.push_back(*item);
    }
    return page;
}

page_outcome apply_page(const resource_state& state, const changelog_page& page,
                        std::chrono::microseconds overlap,
                        std::optional<time::time_point> caught_up_at) {
    page_outcome out;
    out.next = state;
    auto& next = out.next;
    std::unordered_set<change_key, key_hash> seen(state.recent.begin(), state.recent.end());
    for (const auto& item : page.items) {
        const auto& k = item.key;
        if ((state.floor && k.processed_at < *state.floor) || !seen.insert(k).second) {
            continue;
        }
        out.fresh.push_back(&item);
        next.recent.push_back(k);
        if (!next.watermark || k.processed_at > *next.watermark) {
            next.watermark = k.processed_at;
        }
    }
    if (caught_up_at && (!next.watermark || *caught_up_at > *next.watermark)) {
        next.watermark = caught_up_at;
    }
    prune(next, overlap);
    next.cursor = page.has_more ? page.next_cursor : std::nullopt;
    return out;
}

core::change_event make_event(const std::string& source, const std::string& resource,
                              const changelog_item& item, std::optional<json::value> data) {
    core::change_event e;
    const auto& k = item.key;
    auto processed = time::format_rfc3339_us(k.processed_at);
    e.event_id = core::make_event_id({source, resource, std::to_string(k.id), k.operation, processed});
    e.source = source;
    e.source_kind = "pennylane";
    e.resource = resource;
    e.resource_id = std::to_string(k.id);
    e.operation = core::is_operation(k.operation) ? k.operation : "update";
    e.occurred_at = time::format_rfc3339(k.processed_at);
    e.data = std::move(data);
    e.upstream = item.raw;
    return e;
}

core::change_event make_snapshot_event(const std::string& source, const std::string& resource,
                                       const json::object& record, time::time_point listed_at) {
    core::change_event e;
    auto id = std::to_string(record.at("id").as_int64());
    std::optional<time::time_point> updated;
    if (const auto* u = member(record, "updated_at"); u != nullptr && u->is_string()) {
        updated = time::parse_rfc3339(u->get_string());
    }
    auto version = updated ? time::format_rfc3339_us(*updated) : std::string("unknown");
    e.event_id = core::make_event_id({source, resource, id, "snapshot", version});
    e.source = source;
    e.source_kind = "pennylane";
    e.resource = resource;
    e.resource_id = id;
    e.operation = "update";
    e.occurred_at = time::format_rfc3339(updated.value_or(listed_at));
    e.data = json::value(record);
    e.upstream = record;
    e.snapshot = true;
    return e;
}

std::string id_in_filter(const std::vector<std::int64_t>& ids) {
    json::array values;
    for (auto id : ids) {
        values.push_back(id);
    }
    json::array filter{json::object{{"field", "id"}, {"operator", "in"}, {"value", std::move(values)}}};
    return json::serialize(filter);
}

bool has_list_endpoint(std::string_view resource) {
    return resource == "customer_invoices" || resource == "supplier_invoices" ||
           resource == "customers" || resource == "suppliers" || resource == "products";
}

std::string error_text(std::string_view body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object()) {
        if (const auto* e = v.as_object().if_contains("error"); e != nullptr && e->is_string()) {
            return std::string(e->get_string());
        }
    }
    std::string text(body.substr(0, 200));
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

}  // namespace changefeed::sources::pennylane
