#include "sources/retailcrm/retailcrm_mapping.hpp"

#include "core/time.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <limits>

namespace changefeed::sources::retailcrm {

namespace json = boost::json;

namespace {

struct method {
    std::string_view resource;
    std::string_view path;
    std::string_view entity;
};

constexpr method k_methods[] = {
    {"orders", "/orders/history", "order"},
    {"customers", "/customers/history", "customer"},
    {"customers_corporate", "/customers-corporate/history", "customer"},
    {"orders_packs", "/orders/packs/history", "pack"},
    {"tasks", "/tasks/history", "task"},
};

const method* find_method(std::string_view resource) {
    for (const auto& m : k_methods) {
        if (m.resource == resource) {
            return &m;
        }
    }
    return nullptr;
}

std::optional<std::int64_t> as_int(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64() &&
        v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(v->get_uint64());
    }
    return std::nullopt;
}

// An id the vendor writes as a number (or, for some entities, a string).
std::optional<std::string> id_text(const json::value* v) {
    if (auto n = as_int(v)) {
        return std::to_string(*n);
    }
    if (v != nullptr && v->is_string() && !v->get_string().empty()) {
        return std::string(v->get_string());
    }
    return std::nullopt;
}

std::string one_line(std::string_view text, std::size_t max) {
    std::string out(text.substr(0, max));
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return out;
}

std::optional<pagination> read_pagination(const json::object& o) {
    const auto* p = o.if_contains("pagination");
    if (p == nullptr || !p->is_object()) {
        return std::nullopt;
    }
    const auto& po = p->get_object();
    auto limit = as_int(po.if_contains("limit"));
    auto total = as_int(po.if_contains("totalCount"));
    auto current = as_int(po.if_contains("currentPage"));
    auto pages = as_int(po.if_contains("totalPageCount"));
    if (!current || !pages) {
        return std::nullopt;
    }
    return pagination{limit.value_or(0), total.value_or(0), *current, *pages};
}

json::value actor_of(const json::object& raw) {
    const auto* user = raw.if_contains("user");
    const auto* key = raw.if_contains("apiKey");
    const auto* source = raw.if_contains("source");
    std::string source_code = source != nullptr && source->is_string()
                                  ? std::string(source->get_string())
                                  : std::string();
    bool has_key = key != nullptr && key->is_object();
    json::object actor;
    if (user != nullptr && user->is_object()) {
        actor["type"] = "user";
        if (auto id = id_text(user->get_object().if_contains("id"))) {
            actor["id"] = *id;
        }
    } else if (has_key) {
        actor["type"] = "api";
    } else if (source_code == "user" || source_code == "api") {
        actor["type"] = source_code;  // the vendor left out who exactly
    } else if (!source_code.empty()) {
        actor["type"] = "system";  // triggers, rules, integrations...
    } else {
        return nullptr;
    }
    if (has_key) {
        // Also when a user is named: a change made through our key is flagged whoever it names.
        actor["own_key"] = is_own_change(raw);
    }
    if (!source_code.empty()) {
        actor["source"] = source_code;
    }
    return actor;
}

}  // namespace

std::string_view history_path(std::string_view resource) {
    const auto* m = find_method(resource);
    return m != nullptr ? m->path : std::string_view();
}

std::string_view entity_key(std::string_view resource) {
    const auto* m = find_method(resource);
    return m != nullptr ? m->entity : std::string_view();
}

json::value resource_state::to_json() const {
    json::object o;
    o["since_id"] = since_id ? json::value(*since_id) : json::value(nullptr);
    if (start_date) {
        o["start_date"] = *start_date;
    }
    return o;
}

std::variant<resource_state, std::string> resource_state::from_json(const json::value& v) {
    if (!v.is_object()) {
        return std::string("checkpoint is not an object");
    }
    const auto& o = v.get_object();
    resource_state s;
    if (const auto* id = o.if_contains("since_id"); id != nullptr && !id->is_null()) {
        auto n = as_int(id);
        if (!n || *n < 0) {
            return std::string("checkpoint since_id is not a non-negative integer");
        }
        s.since_id = n;
    }
    if (const auto* d = o.if_contains("start_date"); d != nullptr && !d->is_null()) {
        if (!d->is_string() || !parse_local(d->get_string())) {
            return std::string("checkpoint start_date is not \"Y-m-d H:i:s\"");
        }
        s.start_date = std::string(d->get_string());
    }
    return s;
}

std::variant<history_page, std::string> parse_history(std::string_view resource,
                                                      std::string_view body) {
    const auto* m = find_method(resource);
    if (m == nullptr) {
        return "no history method for resource " + std::string(resource);
    }
    if (looks_like_html(body)) {
        return std::string("the answer is an HTML page, not JSON: the retailCRM account does not "
                           "exist (check base_url)");
    }
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) {
        return "body is not JSON (" + ec.message() + ")";
    }
    if (!v.is_object()) {
        return std::string("body is not a JSON object");
    }
    const auto& o = v.get_object();
    const auto* success = o.if_contains("success");
    if (success == nullptr || !success->is_bool()) {
        return std::string("success is missing or not a boolean");
    }
    if (!success->get_bool()) {
        return "success is false: " + error_text(200, body);
    }
    const auto* history = o.if_contains("history");
    if (history == nullptr || !history->is_array()) {
        return std::string("history is missing or not an array");
    }
    history_page page;
    page.pages = read_pagination(o);
    for (const auto& item : history->get_array()) {
        const auto* record = item.if_object();
        if (record == nullptr) {
            return std::string("a history record is not an object");
        }
        history_record r;
        auto id = as_int(record->if_contains("id"));
        if (!id) {
            return std::string("a history record lacks an integer id");
        }
        r.id = *id;
        const auto* created = record->if_contains("createdAt");
        auto at = created != nullptr && created->is_string() ? parse_local(created->get_string())
                                                             : std::nullopt;
        if (!at) {
            return "history record " + std::to_string(r.id) +
                   " lacks a createdAt of the form \"Y-m-d H:i:s\"";
        }
        r.created_at = *at;
        const auto* entity = record->if_contains(m->entity);
        auto entity_id = entity != nullptr && entity->is_object()
                             ? id_text(entity->get_object().if_contains("id"))
                             : std::nullopt;
        if (!entity_id) {
            return "history record " + std::to_string(r.id) + " lacks " + std::string(m->entity) +
                   ".id";
        }
        r.resource_id = *entity_id;
        r.raw = *record;
        page.records.push_back(std::move(r));
    }
    return page;
}

bool is_own_change(const json::object& record) {
    const auto* key = record.if_contains("apiKey");
    if (key == nullptr || !key->is_object()) {
        return false;
    }
    const auto* current = key->get_object().if_contains("current");
    return current != nullptr && current->is_bool() && current->get_bool();
}

page_outcome apply_page(const resource_state& state,
                        const history_page& page,
                        std::int64_t page_limit,
                        bool skip_own_changes) {
    page_outcome out;
    out.next = state;
    // In id order, whatever order the page came in: since_id becomes the largest id, so a
    // record listed after a larger one must not be mistaken for a repeat.
    std::vector<const history_record*> sorted;
    sorted.reserve(page.records.size());
    for (const auto& record : page.records) {
        sorted.push_back(&record);
    }
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto* a, const auto* b) { return a->id < b->id; });
    bool advanced = false;
    for (const auto* record : sorted) {
        if (out.next.since_id && record->id <= *out.next.since_id) {
            continue;  // already emitted (the filter is strictly greater) or twice in the page
        }
        out.next.since_id = record->id;
        advanced = true;
        if (skip_own_changes && is_own_change(record->raw)) {
            ++out.skipped_own;
            continue;
        }
        out.fresh.push_back(record);
    }
    if (advanced) {
        out.next.start_date.reset();  // from now on sinceId alone says where to go on
        out.more = page.pages ? page.pages->total_page_count > page.pages->current_page
                              : static_cast<std::int64_t>(page.records.size()) >= page_limit;
    }
    return out;
}

core::change_event make_event(const std::string& source,
                              const std::string& resource,
                              const history_record& record,
                              const account_zone& zone) {
    core::change_event e;
    auto id = std::to_string(record.id);
    e.event_id = core::make_event_id({source, resource, id});
    e.source = source;
    e.source_kind = "retailcrm";
    e.resource = resource;
    e.resource_id = record.resource_id;
    auto flag = [&](std::string_view key) {
        const auto* v = record.raw.if_contains(key);
        return v != nullptr && v->is_bool() && v->get_bool();
    };
    e.operation = flag("created") ? "insert" : flag("deleted") ? "delete" : "update";
    auto utc = zone.to_utc(record.created_at);
    e.occurred_at = time::format_rfc3339(time::time_point{utc});
    if (const auto* field = record.raw.if_contains("field");
        field != nullptr && field->is_string()) {
        const auto* old_value = record.raw.if_contains("oldValue");
        const auto* new_value = record.raw.if_contains("newValue");
        json::object change{{"field", *field},
                            {"old", old_value != nullptr ? *old_value : json::value(nullptr)},
                            {"new", new_value != nullptr ? *new_value : json::value(nullptr)}};
        e.changes = json::array{std::move(change)};
    }
    if (auto actor = actor_of(record.raw); !actor.is_null()) {
        e.actor = std::move(actor);
    }
    e.upstream = record.raw;
    return e;
}

bool looks_like_html(std::string_view body) {
    auto first = body.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && body[first] == '<';
}

std::string error_text(unsigned status, std::string_view body) {
    if (looks_like_html(body)) {
        if (status == 429 || status >= 500) {
            return "an HTML error page (the service is unavailable or throttling this key)";
        }
        return "an HTML page, not JSON: the retailCRM account does not exist (check base_url)";
    }
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) {
        return one_line(body, 200);
    }
    const auto& o = v.get_object();
    std::string text;
    if (const auto* msg = o.if_contains("errorMsg"); msg != nullptr && msg->is_string()) {
        text = std::string(msg->get_string());
    }
    std::vector<std::string> details;
    auto add = [&](std::string key, const json::value& value) {
        std::string detail =
            value.is_string() ? std::string(value.get_string()) : json::serialize(value);
        details.push_back(key.empty() ? detail : key + ": " + detail);
    };
    if (const auto* errors = o.if_contains("errors"); errors != nullptr) {
        if (errors->is_object()) {
            for (const auto& [key, value] : errors->get_object()) {
                add(std::string(key), value);
            }
        } else if (errors->is_array()) {
            for (const auto& value : errors->get_array()) {
                add({}, value);
            }
        }
    }
    std::string joined;
    for (const auto& d : details) {
        joined += (joined.empty() ? "" : "; ") + d;
    }
    if (text.empty()) {
        return one_line(joined.empty() ? std::string(body) : joined, 300);
    }
    return one_line(joined.empty() ? text : text + " (" + joined + ")", 300);
}

}  // namespace changefeed::sources::retailcrm
