#include "sources/saleschannel/saleschannel_mapping.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <unordered_set>

namespace changefeed::sources::saleschannel {

namespace json = boost::json;

namespace {

constexpr std::string_view k_status_change = "TRANSACTION_STATUS_CHANGE";

std::optional<time::time_point> optional_time(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return time::parse_rfc3339(v->get_string());
}

const json::string* string_member(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? &v->get_string() : nullptr;
}

json::array string_array(const std::vector<std::string>& items) {
    json::array a;
    a.reserve(items.size());
    for (const auto& s : items) {
        a.push_back(json::value(s));
    }
    return a;
}

std::optional<std::vector<std::string>> read_strings(const json::value* v) {
    std::vector<std::string> out;
    if (v == nullptr || v->is_null()) {
        return out;
    }
    if (!v->is_array()) {
        return std::nullopt;
    }
    for (const auto& item : v->get_array()) {
        if (!item.is_string()) {
            return std::nullopt;
        }
        out.emplace_back(item.get_string());
    }
    return out;
}

// Remembers a null-createdAt row; true when it had not been seen.
bool remember_null(log_state& s, std::unordered_set<std::string>& seen, const std::string& id) {
    if (!seen.insert(id).second) {
        return false;
    }
    s.null_ids.push_back(id);
    if (s.null_ids.size() > k_null_ids_cap) {
        s.null_ids.erase(s.null_ids.begin(),
                         s.null_ids.begin() +
                             static_cast<std::ptrdiff_t>(s.null_ids.size() - k_null_ids_cap));
    }
    ++s.null_total;
    return true;
}

}  // namespace

std::variant<std::vector<log_row>, std::string> parse_events(std::string_view body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) {
        return "body is not JSON (" + ec.message() + ")";
    }
    if (!v.is_array()) {
        return std::string("body is not a JSON array");
    }
    std::vector<log_row> rows;
    rows.reserve(v.get_array().size());
    for (auto& item : v.get_array()) {
        auto* o = item.if_object();
        if (o == nullptr) {
            return std::string("an event is not an object");
        }
        const auto* id = string_member(*o, "id");
        if (id == nullptr || id->empty()) {
            return std::string("an event has no string id");
        }
        log_row row;
        row.id = std::string(*id);
        row.created_at = optional_time(*o, "createdAt");
        row.event_at = optional_time(*o, "eventAt");
        row.raw = std::move(*o);
        rows.push_back(std::move(row));
    }
    return rows;
}

json::value log_state::to_json() const {
    json::object o;
    o["created_at"] = created_at ? json::value(time::format_rfc3339_us(*created_at))
                                 : json::value(nullptr);
    o["ids_at"] = string_array(ids_at);
    o["past"] = past;
    o["walk"] = walk ? json::value(*walk) : json::value(nullptr);
    o["null_ids"] = string_array(null_ids);
    o["null_total"] = null_total;
    return o;
}

std::variant<log_state, std::string> log_state::from_json(const json::value& v) {
    if (!v.is_object()) {
        return std::string("checkpoint is not an object");
    }
    const auto& o = v.get_object();
    log_state s;
    if (const auto* c = o.if_contains("created_at"); c != nullptr && !c->is_null()) {
        auto t = c->is_string() ? time::parse_rfc3339(c->get_string()) : std::nullopt;
        if (!t) {
            return std::string("checkpoint created_at is not an RFC 3339 time");
        }
        s.created_at = t;
    }
    auto ids = read_strings(o.if_contains("ids_at"));
    auto nulls = read_strings(o.if_contains("null_ids"));
    if (!ids || !nulls) {
        return std::string("checkpoint ids_at or null_ids is not a list of strings");
    }
    s.ids_at = std::move(*ids);
    s.null_ids = std::move(*nulls);
    if (const auto* p = o.if_contains("past"); p != nullptr && p->is_bool()) {
        s.past = p->get_bool();
    }
    if (const auto* w = o.if_contains("walk"); w != nullptr && !w->is_null()) {
        if (!w->is_string() || !s.created_at) {
            return std::string("checkpoint walk is not an id at a created_at");
        }
        s.walk = std::string(w->get_string());
    }
    if (const auto* n = o.if_contains("null_total"); n != nullptr && n->is_number()) {
        s.null_total = n->to_number<std::uint64_t>();
    }
    return s;
}

std::string filter_time(time::time_point t) {
    auto since_ms = t.time_since_epoch() % std::chrono::milliseconds(1);
    return since_ms.count() == 0 ? time::format_rfc3339(t) : time::format_rfc3339_us(t);
}

query_params encode(const events_query& q, query_encoding encoding) {
    query_params p;
    p.emplace_back("$limit", std::to_string(q.limit));
    if (encoding == query_encoding::brackets) {
        p.emplace_back("$orderBy[createdAt]", "asc");
        if (q.order_by_id) {
            p.emplace_back("$orderBy[id]", "asc");
        }
        if (q.gte) {
            p.emplace_back("$filter[createdAt][gte]", filter_time(*q.gte));
        }
        if (q.gt) {
            p.emplace_back("$filter[createdAt][gt]", filter_time(*q.gt));
        }
        if (q.lte) {
            p.emplace_back("$filter[createdAt][lte]", filter_time(*q.lte));
        }
        if (q.id_gt) {
            p.emplace_back("$filter[id][gt]", *q.id_gt);
        }
        return p;
    }
    json::object order{{"createdAt", "asc"}};
    if (q.order_by_id) {
        order["id"] = "asc";
    }
    p.emplace_back("$orderBy", json::serialize(order));
    json::object created;
    if (q.gte) {
        created["gte"] = filter_time(*q.gte);
    }
    if (q.gt) {
        created["gt"] = filter_time(*q.gt);
    }
    if (q.lte) {
        created["lte"] = filter_time(*q.lte);
    }
    json::object filter;
    if (!created.empty()) {
        filter["createdAt"] = std::move(created);
    }
    if (q.id_gt) {
        filter["id"] = json::object{{"gt", *q.id_gt}};
    }
    if (!filter.empty()) {
        p.emplace_back("$filter", json::serialize(filter));
    }
    return p;
}

events_query next_query(const log_state& s, std::int64_t limit,
                        std::optional<time::time_point> start) {
    events_query q;
    q.limit = limit;
    if (s.walk && s.created_at) {
        q.gte = s.created_at;
        q.lte = s.created_at;
        if (!s.walk->empty()) {
            q.id_gt = s.walk;
        }
        q.order_by_id = true;
    } else if (s.created_at) {
        (s.past ? q.gt : q.gte) = s.created_at;
    } else {
        // As the vendor's own example: a lower bound far in the past. Rows without createdAt
        // never match a filter; the null sweep finds them.
        q.gte = start.value_or(time::time_point{});
    }
    return q;
}

page_outcome apply_page(const log_state& s, const std::vector<log_row>& page, std::int64_t limit) {
    page_outcome out;
    out.next = s;
    auto& next = out.next;
    std::unordered_set<std::string> at(s.ids_at.begin(), s.ids_at.end());
    std::unordered_set<std::string> nulls(s.null_ids.begin(), s.null_ids.end());
    std::optional<time::time_point> newest = s.created_at;
    for (const auto& row : page) {
        if (!row.created_at) {
            if (remember_null(next, nulls, row.id)) {
                out.fresh.push_back(&row);
            }
            continue;
        }
        const auto& t = *row.created_at;
        if (s.created_at && (t < *s.created_at ||
                             (t == *s.created_at && (s.past || at.count(row.id) != 0)))) {
            continue;
        }
        out.fresh.push_back(&row);
        if (!newest || t > *newest) {
            newest = t;
        }
    }
    bool moved = newest && (!s.created_at || *newest > *s.created_at);
    if (moved) {
        next.created_at = newest;
        next.past = false;
        next.ids_at.clear();
        std::unordered_set<std::string> kept;
        for (const auto& row : page) {
            if (row.created_at == newest && kept.insert(row.id).second) {
                next.ids_at.push_back(row.id);
            }
        }
    } else if (!s.past) {
        for (const auto* row : out.fresh) {
            if (row->created_at && row->created_at == s.created_at && at.insert(row->id).second) {
                next.ids_at.push_back(row->id);
            }
        }
    }
    out.full = static_cast<std::int64_t>(page.size()) >= limit;
    out.stuck = out.full && !moved;
    return out;
}

page_outcome apply_walk_page(const log_state& s, const std::vector<log_row>& page,
                             std::int64_t limit) {
    page_outcome out;
    out.next = s;
    auto& next = out.next;
    std::unordered_set<std::string> at(s.ids_at.begin(), s.ids_at.end());
    for (const auto& row : page) {
        if (!row.created_at || row.created_at != s.created_at || at.count(row.id) != 0) {
            continue;
        }
        out.fresh.push_back(&row);
    }
    out.full = static_cast<std::int64_t>(page.size()) >= limit;
    if (!page.empty()) {
        next.walk = page.back().id;
    }
    out.stuck = out.full && next.walk == s.walk;
    if (!out.full) {
        next.walk.reset();
        next.past = true;
        next.ids_at.clear();
    }
    return out;
}

page_outcome apply_sweep_page(const log_state& s, const std::vector<log_row>& page,
                              std::int64_t limit) {
    page_outcome out;
    out.next = s;
    std::unordered_set<std::string> nulls(s.null_ids.begin(), s.null_ids.end());
    bool all_null = true;
    for (const auto& row : page) {
        if (row.created_at) {
            all_null = false;
            continue;
        }
        if (remember_null(out.next, nulls, row.id)) {
            out.fresh.push_back(&row);
        }
    }
    out.full = static_cast<std::int64_t>(page.size()) >= limit;
    out.stuck = out.full && all_null;
    return out;
}

core::change_event make_event(const std::string& source, const log_row& row,
                              time::time_point polled_at) {
    core::change_event e;
    e.event_id = core::make_event_id({source, row.id});
    e.source = source;
    e.source_kind = "saleschannel";
    e.operation = "update";
    auto at = row.event_at ? row.event_at : row.created_at;
    e.occurred_at = time::format_rfc3339(at.value_or(polled_at));
    e.upstream = row.raw;

    const auto* type = string_member(row.raw, "eventType");
    const auto* details_value = row.raw.if_contains("details");
    const auto* details = details_value != nullptr ? details_value->if_object() : nullptr;
    const json::string* transaction = details ? string_member(*details, "transactionId") : nullptr;
    const json::value* status = details ? details->if_contains("status") : nullptr;
    if (type != nullptr && *type == k_status_change && transaction != nullptr &&
        !transaction->empty()) {
        e.resource = "transactions";
        e.resource_id = std::string(*transaction);
        // Without a status in the documented shape there is no change to state: the event keeps
        // its resource and the raw record.
        if (status != nullptr && status->is_string()) {
            const auto* previous = details->if_contains("previousStatus");
            json::object change{{"field", "status"},
                                {"old", previous != nullptr ? *previous : json::value(nullptr)},
                                {"new", *status}};
            e.changes = json::array{std::move(change)};
        }
        return e;
    }
    std::string resource = type != nullptr && !type->empty() ? std::string(*type) : "unknown";
    std::transform(resource.begin(), resource.end(), resource.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    e.resource = std::move(resource);
    e.resource_id = row.id;
    return e;
}

std::string error_text(std::string_view body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        if (const auto* m = o.if_contains("message"); m != nullptr) {
            if (m->is_string()) {
                return std::string(m->get_string());
            }
            if (m->is_array()) {
                std::string text;
                for (const auto& part : m->get_array()) {
                    if (part.is_string()) {
                        text += (text.empty() ? "" : "; ") + std::string(part.get_string());
                    }
                }
                return text;
            }
        }
        if (const auto* e = string_member(o, "error")) {
            return std::string(*e);
        }
    }
    std::string text(body.substr(0, 200));
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

}  // namespace changefeed::sources::saleschannel
