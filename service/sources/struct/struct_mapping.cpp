#include "sources/struct/struct_mapping.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <unordered_set>

namespace changefeed::sources::struct_pim {

namespace json = boost::json;

namespace {

std::optional<json::value> parse_json(std::string_view body, std::string& error) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) {
        error = "body is not JSON (" + ec.message() + ")";
        return std::nullopt;
    }
    return v;
}

// The body as a JSON array, or nullopt with `error` set.
std::optional<json::value> parse_array(std::string_view body, std::string& error) {
    auto v = parse_json(body, error);
    if (v && !v->is_array()) {
        error = "body is not a JSON array";
        return std::nullopt;
    }
    return v;
}

std::string text_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::int64_t> int_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(v->get_uint64());
    }
    return std::nullopt;
}

// EntityId is text in the vendor's samples; a number is accepted and written as text.
std::optional<std::string> id_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_string() && !v->get_string().empty()) {
        return std::string(v->get_string());
    }
    if (auto n = int_of(o, key)) {
        return std::to_string(*n);
    }
    return std::nullopt;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string entity_key(std::string_view type, std::string_view id, std::int64_t revision) {
    std::string key(type);
    key += '\x1f';
    key += id;
    key += '\x1f';
    key += std::to_string(revision);
    return key;
}

// The keys every revision-addressing model carries: EntityType, EntityId, RevisionNo.
std::optional<std::string> revision_key(const json::object& o) {
    auto type = text_of(o, "EntityType");
    auto id = id_of(o, "EntityId");
    auto revision = int_of(o, "RevisionNo");
    if (type.empty() || !id || !revision) {
        return std::nullopt;
    }
    return entity_key(type, *id, *revision);
}

json::value time_value(const std::optional<time::time_point>& t) {
    return t ? json::value(time::format_rfc3339_us(*t)) : json::value(nullptr);
}

std::optional<std::optional<time::time_point>> read_time(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return std::optional<time::time_point>();
    }
    auto t = v->is_string() ? time::parse_rfc3339(v->get_string()) : std::nullopt;
    if (!t) {
        return std::nullopt;
    }
    return t;
}

}  // namespace

std::string changed_entity::key() const { return entity_key(entity_type, entity_id, revision); }

std::variant<search_page, std::string> parse_search(std::string_view body) {
    std::string error;
    auto v = parse_json(body, error);
    if (!v) {
        return error;
    }
    const auto* o = v->if_object();
    if (o == nullptr) {
        return std::string("body is not a JSON object");
    }
    auto total = int_of(*o, "TotalCount");
    const auto* list = o->if_contains("Transactions");
    if (!total || list == nullptr || !list->is_array()) {
        return std::string("TotalCount or Transactions is missing");
    }
    search_page page;
    page.total_count = *total;
    page.page = int_of(*o, "Page").value_or(0);
    for (const auto& item : list->get_array()) {
        const auto* t = item.if_object();
        if (t == nullptr || text_of(*t, "Uid").empty()) {
            return std::string("a transaction is not an object with a Uid");
        }
        auto commit = read_time(*t, "CommitTimestamp");
        if (!commit) {
            return "CommitTimestamp of " + text_of(*t, "Uid") + " is not a date-time";
        }
        transaction tx;
        tx.uid = text_of(*t, "Uid");
        tx.type = text_of(*t, "TransactionType");
        tx.username = text_of(*t, "Username");
        tx.commit = *commit;
        tx.raw = *t;
        page.transactions.push_back(std::move(tx));
    }
    return page;
}

std::variant<std::vector<changed_entity>, std::string> parse_changed_entities(std::string_view body) {
    std::string error;
    auto v = parse_array(body, error);
    if (!v) {
        return error;
    }
    std::vector<changed_entity> out;
    for (const auto& item : v->get_array()) {
        const auto* o = item.if_object();
        auto id = o != nullptr ? id_of(*o, "EntityId") : std::nullopt;
        auto revision = o != nullptr ? int_of(*o, "RevisionNo") : std::nullopt;
        if (o == nullptr || text_of(*o, "EntityType").empty() || !id || !revision ||
            text_of(*o, "TransactionUid").empty()) {
            return std::string(
                "a changed entity lacks EntityType, EntityId, RevisionNo or TransactionUid");
        }
        out.push_back({text_of(*o, "EntityType"), *id, *revision, text_of(*o, "TransactionUid"), *o});
    }
    return out;
}

std::variant<std::vector<data_type_change>, std::string> parse_data_types(std::string_view body) {
    std::string error;
    auto v = parse_array(body, error);
    if (!v) {
        return error;
    }
    std::vector<data_type_change> out;
    for (const auto& item : v->get_array()) {
        const auto* o = item.if_object();
        auto key = o != nullptr ? revision_key(*o) : std::nullopt;
        if (!key || text_of(*o, "DataType").empty()) {
            return std::string("a revision change lacks EntityType, EntityId, RevisionNo or DataType");
        }
        out.push_back({*key, text_of(*o, "DataType")});
    }
    return out;
}

std::variant<std::vector<field_revision>, std::string> parse_revision_data(std::string_view body) {
    std::string error;
    auto v = parse_array(body, error);
    if (!v) {
        return error;
    }
    std::vector<field_revision> out;
    for (const auto& item : v->get_array()) {
        const auto* o = item.if_object();
        if (o == nullptr || text_of(*o, "FieldName").empty()) {
            return std::string("a revision field lacks FieldName");
        }
        auto field = text_of(*o, "FieldName");
        std::unordered_set<std::int64_t> seen;
        auto take = [&](const json::value& entry) -> bool {
            const auto* c = entry.if_object();
            auto revision = c != nullptr ? int_of(*c, "RevisionNo") : std::nullopt;
            if (!revision) {
                return false;
            }
            if (seen.insert(*revision).second) {
                const auto* before = c->if_contains("ValueBefore");
                const auto* value = c->if_contains("RevisionValue");
                out.push_back({field, *revision, before ? *before : json::value(nullptr),
                               value ? *value : json::value(nullptr)});
            }
            return true;
        };
        if (const auto* changes = o->if_contains("ItemRevisionChange");
            changes != nullptr && !changes->is_null()) {
            if (!changes->is_array()) {
                return "ItemRevisionChange of " + field + " is not an array";
            }
            for (const auto& entry : changes->get_array()) {
                if (!take(entry)) {
                    return "a revision of " + field + " lacks RevisionNo";
                }
            }
        }
        if (const auto* last = o->if_contains("LastChange"); last != nullptr && !last->is_null()) {
            if (!take(*last)) {
                return "LastChange of " + field + " lacks RevisionNo";
            }
        }
    }
    return out;
}

json::array changes_of(const std::vector<field_revision>& data, std::int64_t revision) {
    json::array out;
    for (const auto& f : data) {
        if (f.revision == revision) {
            out.push_back(json::object{{"field", f.field}, {"old", f.before}, {"new", f.value}});
        }
    }
    return out;
}

json::value struct_state::to_json() const {
    json::object o;
    o["watermark"] = time_value(watermark);
    json::array uids;
    uids.reserve(recent.size());
    for (const auto& [at, uid] : recent) {
        uids.push_back(json::array{json::value(time::format_rfc3339_us(at)), json::value(uid)});
    }
    o["recent"] = std::move(uids);
    if (walk) {
        o["walk"] = json::object{{"after", time_value(walk->after)},
                                 {"before", time::format_rfc3339_us(walk->before)},
                                 {"page", walk->page},
                                 {"page_len", walk->page_len},
                                 {"max_commit", time_value(walk->max_commit)},
                                 {"total", walk->total ? json::value(*walk->total) : json::value(nullptr)},
                                 {"restarts", walk->restarts}};
    } else {
        o["walk"] = nullptr;
    }
    return o;
}

std::variant<struct_state, std::string> struct_state::from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (o == nullptr) {
        return std::string("checkpoint is not an object");
    }
    struct_state s;
    auto watermark = read_time(*o, "watermark");
    if (!watermark) {
        return std::string("checkpoint watermark is not an RFC 3339 time");
    }
    s.watermark = *watermark;
    if (const auto* r = o->if_contains("recent"); r != nullptr && !r->is_null()) {
        if (!r->is_array()) {
            return std::string("checkpoint recent is not an array");
        }
        for (const auto& entry : r->get_array()) {
            const auto* a = entry.if_array();
            auto at = a != nullptr && a->size() == 2 && (*a)[0].is_string()
                          ? time::parse_rfc3339((*a)[0].get_string())
                          : std::nullopt;
            if (!at || !(*a)[1].is_string()) {
                return std::string("checkpoint recent entry is not [time, uid]");
            }
            s.recent.emplace_back(*at, std::string((*a)[1].get_string()));
        }
    }
    if (const auto* w = o->if_contains("walk"); w != nullptr && !w->is_null()) {
        const auto* wo = w->if_object();
        if (wo == nullptr) {
            return std::string("checkpoint walk is not an object");
        }
        auto after = read_time(*wo, "after");
        auto before = read_time(*wo, "before");
        auto max_commit = read_time(*wo, "max_commit");
        auto page = int_of(*wo, "page");
        if (!after || !before || !*before || !max_commit || !page || *page < 1) {
            return std::string("checkpoint walk lacks its bounds or page");
        }
        s.walk = walk_state{*after, **before, *page, int_of(*wo, "page_len").value_or(0), *max_commit,
                            int_of(*wo, "total"), int_of(*wo, "restarts").value_or(0)};
    }
    return s;
}

walk_state start_walk(const struct_state& s, std::chrono::microseconds overlap,
                      std::optional<time::time_point> start, time::time_point now) {
    walk_state w;
    w.after = s.watermark ? std::optional(*s.watermark - overlap) : start;
    w.before = now;
    return w;
}

page_outcome apply_search_page(const struct_state& s, const search_page& page,
                               std::int64_t page_size, std::chrono::microseconds overlap) {
    page_outcome out;
    out.next = s;
    auto& next = out.next;
    auto walk = s.walk.value_or(walk_state{});
    std::unordered_set<std::string> done;
    for (const auto& [at, uid] : s.recent) {
        done.insert(uid);
    }
    for (const auto& t : page.transactions) {
        if (!t.commit) {
            ++out.uncommitted;
            continue;
        }
        if (!walk.max_commit || *t.commit > *walk.max_commit) {
            walk.max_commit = t.commit;
        }
        if (done.insert(t.uid).second) {
            out.fresh.push_back(&t);
            next.recent.emplace_back(*t.commit, t.uid);
        }
    }
    std::sort(out.fresh.begin(), out.fresh.end(), [](const transaction* a, const transaction* b) {
        return std::tie(*a->commit, a->uid) < std::tie(*b->commit, b->uid);
    });

    auto served = static_cast<std::int64_t>(page.transactions.size());
    walk.page_len = std::max(walk.page_len, served);
    // The page asked for, not the one the answer names: a vendor that clamps a page number
    // past the end must not keep the walk on one page.
    auto number = walk.page;
    // The vendor's own page length wins over the configured one when it is smaller, so a
    // wrong page_size costs a request (an empty page) instead of skipping transactions.
    auto per_page = std::min(page_size, walk.page_len);
    // The search is ordered by something other than commit time (the simulator: start time),
    // so a commit that becomes visible inside the bounds mid-walk can push a transaction onto
    // a page already read. Results only grow under fixed bounds: a changed TotalCount reveals
    // it, and the walk reads again from page 1 (processed uids are skipped by `recent`).
    bool moved = walk.total && *walk.total != page.total_count;
    walk.total = page.total_count;
    out.restarted = moved && walk.restarts < k_walk_restart_cap;
    out.moved_past_cap = moved && !out.restarted;
    walk.restarts += out.restarted ? 1 : 0;
    out.last = !out.restarted && (served == 0 || number * per_page >= page.total_count);

    auto& recent = next.recent;
    if (out.last) {
        if (walk.max_commit && (!next.watermark || *walk.max_commit > *next.watermark)) {
            next.watermark = walk.max_commit;
        }
        next.walk.reset();
        if (next.watermark) {
            auto floor = *next.watermark - overlap;
            std::erase_if(recent, [floor](const auto& r) { return r.first < floor; });
        }
    } else {
        walk.page = out.restarted ? 1 : number + 1;
        next.walk = walk;
    }
    if (recent.size() > k_recent_cap) {
        // Forgetting the oldest costs at most a repeated lookup: events keep their ids.
        std::stable_sort(recent.begin(), recent.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        recent.resize(k_recent_cap);
        std::reverse(recent.begin(), recent.end());
    }
    return out;
}

std::string resource_of(std::string_view entity_type) {
    if (entity_type == "Product") {
        return "products";
    }
    if (entity_type == "Variant") {
        return "variants";
    }
    if (entity_type == "Category") {
        return "categories";
    }
    if (entity_type == "GlobalListValue") {
        return "globallistvalues";
    }
    return lower(entity_type);
}

std::string operation_of(const transaction& t, const changed_entity& e) {
    auto change_type = lower(text_of(e.raw, "ChangeType"));
    if (lower(t.type).find("delet") != std::string::npos ||
        change_type.find("delet") != std::string::npos) {
        return "delete";
    }
    return e.revision == 1 ? "insert" : "update";
}

core::change_event make_event(const std::string& source, const transaction& t,
                              const changed_entity& e, std::optional<json::array> changes,
                              std::optional<json::array> data_types) {
    core::change_event ev;
    ev.event_id = core::make_event_id(
        {source, t.uid, e.entity_type, e.entity_id, std::to_string(e.revision)});
    ev.source = source;
    ev.source_kind = "struct";
    ev.resource = resource_of(e.entity_type);
    ev.resource_id = e.entity_id;
    ev.operation = operation_of(t, e);
    ev.occurred_at = time::format_rfc3339(t.commit.value_or(time::time_point{}));
    if (!t.username.empty()) {
        ev.actor = json::object{{"type", "user"}, {"id", t.username}};
    }
    if (changes) {
        ev.changes = std::move(*changes);
    }
    json::object upstream{{"Transaction", t.raw}, {"ChangedEntity", e.raw}};
    if (data_types) {
        upstream["DataTypes"] = std::move(*data_types);
    }
    ev.upstream = std::move(upstream);
    return ev;
}

std::string error_text(std::string_view body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object()) {
        for (auto key : {"Message", "message", "title", "Title"}) {
            if (auto text = text_of(v.get_object(), key); !text.empty()) {
                return text;
            }
        }
    }
    std::string text(body.substr(0, 200));
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

}  // namespace changefeed::sources::struct_pim
