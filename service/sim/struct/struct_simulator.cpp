#include "sim/struct/struct_simulator.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <set>

namespace changefeed::sim {

namespace json = boost::json;

namespace {

constexpr const char* k_types[] = {"Product", "Variant", "Category", "GlobalListValue"};

http::response message(unsigned status, std::string text) {
    return json_reply(status, json::serialize(json::object{{"Message", text}}));
}

// "2021-10-20T12:56:27.3010000+02:00": the vendor's samples, seven digits and an offset.
std::string struct_time(time::time_point t) {
    auto text = time::format_rfc3339_us(t + std::chrono::hours(2));
    text.pop_back();  // 'Z'
    return text + "0+02:00";
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

std::string hex(std::uint64_t v, std::size_t digits) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out(digits, '0');
    for (std::size_t i = digits; i-- > 0;) {
        out[i] = k_hex[v & 0xf];
        v >>= 4;
    }
    return out;
}

std::string guid(std::uint64_t a, std::uint64_t b) {
    auto h = hex(a, 16) + hex(b, 16);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

std::string data_type_of(const std::string& entity_type, const std::string& field) {
    auto h = std::hash<std::string>()(entity_type + "/" + field);
    return "system.attribute." + guid(h, h * 0x9e3779b97f4a7c15ull);
}

std::string key_of(const std::string& type, const std::string& id, std::int64_t revision) {
    return type + "/" + id + "/" + std::to_string(revision);
}

const std::vector<std::string>& fields_of(const std::string& type) {
    static const std::map<std::string, std::vector<std::string>> k{
        {"Product", {"Name (English)", "Price", "Status"}},
        {"Variant", {"SKU", "Stock", "Color"}},
        {"Category", {"Name (English)", "Sort order"}},
        {"GlobalListValue", {"Value", "Description"}},
    };
    return k.at(type);
}

json::value value_for(const std::string& field, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> n(1, 9999);
    if (field == "Price") {
        return json::value(static_cast<double>(n(rng)) / 100.0);
    }
    if (field == "Stock" || field == "Sort order") {
        return json::value(n(rng) % 500);
    }
    if (field == "Status") {
        static const char* k_status[] = {"Draft", "Approved", "Archived"};
        return json::value(k_status[n(rng) % 3]);
    }
    if (field == "Color") {
        static const char* k_color[] = {"Black", "White", "Forest green", "Navy"};
        return json::value(k_color[n(rng) % 4]);
    }
    return json::value(field + " " + std::to_string(n(rng)));
}

}  // namespace

struct_simulator::struct_simulator(options opts)
    : opts_(std::move(opts)),
      // Entity ids keep growing across demo runs: a base taken from the clock.
      next_entity_id_(std::chrono::floor<std::chrono::seconds>(time::now())
                          .time_since_epoch()
                          .count() %
                      100000000 * 10),
      uid_rng_(std::random_device{}()) {}

void struct_simulator::install(http::router& routes) {
    using handler = http::response (struct_simulator::*)(const http::request&);
    auto add = [this, &routes](const char* method, const char* path, handler fn) {
        routes.add(method, path,
                   [this, fn](const http::request& req) -> boost::asio::awaitable<http::response> {
                       co_return (this->*fn)(req);
                   });
    };
    add("GET", "/v1/transactions/search", &struct_simulator::search);
    add("POST", "/v1/transactions/batch/changedentities", &struct_simulator::changed_entities);
    add("POST", "/v1/transactions/changes/batch", &struct_simulator::changes);
    add("GET", "/v1/transactions/{entityType}/{entityId}/revisiondata",
        &struct_simulator::revision_data);
}

std::optional<http::response> struct_simulator::admit(const http::request& req) {
    auto auth = req.header("authorization");
    if (auth && auth->rfind("Bearer ", 0) == 0) {
        violation("Authorization sent with a Bearer prefix; Struct takes the bare API key");
    }
    if (!auth || *auth != opts_.api_key) {
        return message(401, "Authorization has been denied for this request.");
    }
    return std::nullopt;
}

http::response struct_simulator::search(const http::request& req) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["search"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    std::int64_t page = 1;
    std::optional<time::time_point> after;
    std::optional<time::time_point> before;
    std::optional<std::string> username;
    for (const auto& [key, value] : req.query) {
        if (key == opts_.param_page) {
            auto n = parse_int(value);
            if (!n || *n < 1) {
                violation("page is not an integer from 1: " + value);
                return message(400, "The value '" + value + "' is not valid for page.");
            }
            page = *n;
        } else if (key == opts_.param_committed_after || key == opts_.param_committed_before) {
            auto t = time::parse_rfc3339(value);
            if (!t) {
                violation(key + " is not a date-time: " + value);
                return message(400, "The value '" + value + "' is not valid for " + key + ".");
            }
            (key == opts_.param_committed_after ? after : before) = t;
        } else if (key == opts_.param_username) {
            username = value;
        } else {
            // ASP.NET ignores it, so the filter the client meant silently does not apply.
            violation("search parameter the API does not know (ignored): " + key);
        }
    }
    std::vector<const transaction*> hits;
    for (const auto& t : transactions_) {
        if (!t.committed || (after && !(*t.committed > *after)) ||
            (before && !(*t.committed < *before)) || (username && t.username != *username)) {
            continue;
        }
        hits.push_back(&t);
    }
    std::sort(hits.begin(), hits.end(), [](const transaction* a, const transaction* b) {
        return std::tie(a->started, a->uid) < std::tie(b->started, b->uid);
    });
    json::array items;
    auto begin = static_cast<std::size_t>((page - 1) * opts_.page_size);
    for (auto i = begin; i < hits.size() && i < begin + static_cast<std::size_t>(opts_.page_size); ++i) {
        const auto& t = *hits[i];
        items.push_back(json::object{{"Uid", t.uid},
                                     {"TransactionType", t.type},
                                     {"Username", t.username},
                                     {"StartTimestamp", struct_time(t.started)},
                                     {"CommitTimestamp", struct_time(*t.committed)}});
    }
    json::object body{{"TotalCount", hits.size()}, {"Page", page}, {"Transactions", std::move(items)}};
    return json_reply(200, json::serialize(body));
}

http::response struct_simulator::changed_entities(const http::request& req) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["changedentities"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    boost::system::error_code ec;
    auto body = json::parse(req.body, ec);
    if (ec || !body.is_array() ||
        !std::all_of(body.get_array().begin(), body.get_array().end(),
                     [](const json::value& v) { return v.is_string(); })) {
        violation("batch/changedentities body is not a JSON array of uids");
        return message(400, "The request body must be a list of transaction uids.");
    }
    const auto& uids = body.get_array();
    largest_uid_batch_ = std::max(largest_uid_batch_, uids.size());
    if (uids.size() > opts_.max_uids) {
        violation("batch/changedentities with " + std::to_string(uids.size()) + " uids (at most " +
                  std::to_string(opts_.max_uids) + ")");
        return message(400, "A maximum of " + std::to_string(opts_.max_uids) +
                                " transactions can be fetched at a time");
    }
    std::set<std::string> types;
    if (auto filter = req.query_param("entityTypes")) {
        std::string_view rest = *filter;
        while (!rest.empty()) {
            auto comma = rest.find(',');
            types.emplace(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
    }
    json::array out;
    for (const auto& v : uids) {
        std::string uid(v.get_string());
        ++lookups_[uid];
        auto it = index_.find(uid);
        if (it == index_.end() || !transactions_[it->second].committed) {
            continue;
        }
        for (const auto& r : transactions_[it->second].changes) {
            if (!types.empty() && types.count(r.entity_type) == 0) {
                continue;
            }
            out.push_back(json::object{{"EntityType", r.entity_type},
                                       {"EntityId", r.entity_id},
                                       {"RevisionNo", r.revision_no},
                                       {"TransactionUid", r.transaction_uid}});
        }
    }
    return json_reply(200, json::serialize(out));
}

http::response struct_simulator::changes(const http::request& req) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["changes"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    boost::system::error_code ec;
    auto body = json::parse(req.body, ec);
    if (ec || !body.is_array()) {
        violation("changes/batch body is not a JSON array of revision keys");
        return message(400, "The request body must be a list of revisions.");
    }
    const auto& keys = body.get_array();
    largest_key_batch_ = std::max(largest_key_batch_, keys.size());
    if (keys.size() > opts_.max_revision_keys) {
        violation("changes/batch with " + std::to_string(keys.size()) + " revision keys (at most " +
                  std::to_string(opts_.max_revision_keys) + ")");
        return message(400, "A maximum of " + std::to_string(opts_.max_revision_keys) +
                                " revisions can be fetched at a time");
    }
    // Which transaction made each revision, so its data types can be found.
    std::map<std::string, const transaction*> by_key;
    for (const auto& t : transactions_) {
        if (t.committed) {
            for (const auto& [key, types] : t.data_types) {
                by_key[key] = &t;
            }
        }
    }
    json::array out;
    for (const auto& k : keys) {
        const auto* o = k.if_object();
        const json::value* type = o ? o->if_contains("EntityType") : nullptr;
        const json::value* id = o ? o->if_contains("EntityId") : nullptr;
        const json::value* revision = o ? o->if_contains("RevisionNo") : nullptr;
        if (!type || !id || !revision || !type->is_string() || !id->is_string() ||
            !revision->is_int64()) {
            violation("changes/batch key is not {EntityType, EntityId, RevisionNo}");
            return message(400, "Each revision needs EntityType, EntityId and RevisionNo.");
        }
        auto key = key_of(std::string(type->get_string()), std::string(id->get_string()),
                          revision->get_int64());
        auto it = by_key.find(key);
        if (it == by_key.end()) {
            continue;
        }
        for (const auto& data_type : it->second->data_types.at(key)) {
            out.push_back(json::object{{"EntityType", *type},
                                       {"EntityId", *id},
                                       {"RevisionNo", *revision},
                                       {"DataType", data_type}});
        }
    }
    return json_reply(200, json::serialize(out));
}

http::response struct_simulator::revision_data(const http::request& req) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["revisiondata"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    const auto& type = req.path_params.at("entityType");
    const auto& id = req.path_params.at("entityId");
    if (std::find(std::begin(k_types), std::end(k_types), type) == std::end(k_types)) {
        violation("revisiondata for an entity type that is none of Product, Variant, Category, "
                  "GlobalListValue: " + type);
        return message(400, "Unknown entity type " + type);
    }
    auto it = entities_.find({type, id});
    if (it == entities_.end()) {
        return message(404, "Entity not found");
    }
    auto committed = [this](const field_change& c) {
        auto t = index_.find(c.transaction_uid);
        return t != index_.end() && transactions_[t->second].committed.has_value();
    };
    std::map<std::string, std::vector<const field_change*>> per_field;
    for (const auto& c : it->second.history) {
        if (committed(c)) {
            per_field[c.field].push_back(&c);
        }
    }
    auto entry = [](const field_change& c) {
        return json::object{{"RevisionNo", c.revision_no},   {"RevisionValue", c.value},
                            {"ValueBefore", c.before},       {"Timestamp", struct_time(c.at)},
                            {"Username", c.username},        {"TransactionType", c.transaction_type},
                            {"TransactionUid", c.transaction_uid}, {"NewValue", nullptr}};
    };
    json::array out;
    for (auto& [field, list] : per_field) {
        std::sort(list.begin(), list.end(), [](const field_change* a, const field_change* b) {
            return a->revision_no > b->revision_no;
        });
        json::array revisions;
        for (const auto* c : list) {
            revisions.push_back(entry(*c));
        }
        out.push_back(json::object{{"FieldName", field},
                                   {"LastChange", entry(*list.front())},
                                   {"ItemRevisionChange", std::move(revisions)}});
    }
    return json_reply(200, json::serialize(out));
}

std::string struct_simulator::new_uid(std::mt19937_64& rng) {
    auto a = rng() ^ uid_rng_();
    auto b = rng() ^ uid_rng_();
    return guid(a, b);
}

void struct_simulator::apply(transaction& t, time::time_point at, std::mt19937_64& rng,
                             std::size_t max_entities, std::optional<std::string> forced_type,
                             std::size_t forced_count) {
    std::uniform_int_distribution<int> dice(0, 99);
    std::string type = forced_type.value_or(std::string());
    if (type.empty()) {
        int roll = dice(rng);
        type = roll < 50 ? "Product" : (roll < 75 ? "Variant" : (roll < 90 ? "Category" : "GlobalListValue"));
    }
    std::vector<std::string> live;
    for (const auto& [key, e] : entities_) {
        if (key.first == type && !e.deleted) {
            live.push_back(key.second);
        }
    }
    int roll = dice(rng);
    std::string op = "update";
    if (forced_count > 0 || live.size() < 3 || roll < 35) {
        op = "creation";
    } else if (roll < 45) {
        op = "deletion";
    }
    std::uniform_int_distribution<std::size_t> how_many(1, std::max<std::size_t>(1, max_entities));
    auto count = forced_count > 0 ? forced_count : how_many(rng);
    if (op != "creation") {
        std::shuffle(live.begin(), live.end(), rng);
        count = std::min(count, live.size());
    }
    t.type = type + " " + op;
    t.committed = at;
    for (std::size_t i = 0; i < count; ++i) {
        std::string id = op == "creation" ? std::to_string(next_entity_id_++) : live[i];
        auto& e = entities_[{type, id}];
        e.revision_no += 1;
        revision r{type, id, e.revision_no, t.uid, op == "deletion"};
        auto& types = t.data_types[key_of(type, id, e.revision_no)];
        std::vector<std::string> changed;
        if (op == "creation") {
            changed = fields_of(type);
        } else if (op == "update") {
            const auto& all = fields_of(type);
            std::uniform_int_distribution<std::size_t> which(0, all.size() - 1);
            changed.push_back(all[which(rng)]);
            if (dice(rng) < 40) {
                auto other = all[which(rng)];
                if (other != changed.front()) {
                    changed.push_back(other);
                }
            }
        } else {
            e.deleted = true;
        }
        for (const auto& field : changed) {
            auto before = e.fields.count(field) ? e.fields[field] : json::value(nullptr);
            auto value = value_for(field, rng);
            for (int attempt = 0; attempt < 20 && value == before; ++attempt) {
                value = value_for(field, rng);  // a revision changes what it names
            }
            e.fields[field] = value;
            e.history.push_back({field, e.revision_no, before, value, t.uid, t.type, t.username, at});
            types.push_back(data_type_of(type, field));
        }
        t.changes.push_back(std::move(r));
    }
}

void struct_simulator::commit_transactions(std::size_t count, time::time_point first,
                                           std::chrono::microseconds spacing, std::uint64_t seed,
                                           std::size_t max_entities) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    static const char* k_users[] = {"anna@example.com", "jonas@example.com", "Struct", ""};
    std::uniform_int_distribution<int> dice(0, 3);
    std::uniform_int_distribution<int> took_ms(50, 4000);
    for (std::size_t i = 0; i < count; ++i) {
        auto at = first + spacing * static_cast<std::int64_t>(i);
        transaction t;
        t.uid = new_uid(rng);
        t.username = k_users[dice(rng)];
        t.started = at - std::chrono::milliseconds(took_ms(rng));
        apply(t, at, rng, max_entities);
        index_[t.uid] = transactions_.size();
        transactions_.push_back(std::move(t));
    }
}

void struct_simulator::bulk_transaction(std::size_t entities, time::time_point at, std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    transaction t;
    t.uid = new_uid(rng);
    t.username = "import@example.com";
    t.started = at - std::chrono::seconds(30);
    apply(t, at, rng, entities, std::string("Product"), entities);
    index_[t.uid] = transactions_.size();
    transactions_.push_back(std::move(t));
}

std::string struct_simulator::begin_transaction(time::time_point started, std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    transaction t;
    t.uid = new_uid(rng);
    t.username = "anna@example.com";
    t.started = started;
    t.type = "Product update";
    auto uid = t.uid;
    index_[uid] = transactions_.size();
    transactions_.push_back(std::move(t));
    pending_.push_back(uid);
    return uid;
}

void struct_simulator::commit_pending(const std::string& uid, time::time_point at) {
    std::lock_guard lock(mutex_);
    auto& t = transactions_.at(index_.at(uid));
    if (t.committed) {
        return;
    }
    std::mt19937_64 rng(std::hash<std::string>()(uid));
    apply(t, at, rng, 4);
    std::erase(pending_, uid);
}

void struct_simulator::tick(std::mt19937_64& rng) {
    auto now = time::now();
    std::uniform_int_distribution<int> dice(0, 99);
    int roll = dice(rng);
    std::optional<std::string> to_commit;
    {
        std::lock_guard lock(mutex_);
        if (!pending_.empty() && roll < 30) {
            to_commit = pending_.front();
        }
    }
    if (to_commit) {
        // Its commit became visible a little after it was stamped.
        commit_pending(*to_commit, now - std::chrono::seconds(20));
        return;
    }
    if (roll > 90) {
        begin_transaction(now - std::chrono::minutes(10), rng());
    }
    std::uniform_int_distribution<std::size_t> how_many(1, 2);
    commit_transactions(how_many(rng), now, std::chrono::milliseconds(3), rng());
}

std::vector<struct_simulator::revision> struct_simulator::revisions() const {
    std::lock_guard lock(mutex_);
    std::vector<revision> out;
    for (const auto& t : transactions_) {
        if (t.committed) {
            out.insert(out.end(), t.changes.begin(), t.changes.end());
        }
    }
    return out;
}

std::map<std::string, std::uint64_t> struct_simulator::changed_entity_lookups() const {
    std::lock_guard lock(mutex_);
    return lookups_;
}

std::uint64_t struct_simulator::requests_of(const std::string& kind) const {
    std::lock_guard lock(mutex_);
    auto it = requests_by_kind_.find(kind);
    return it == requests_by_kind_.end() ? 0 : it->second;
}

std::size_t struct_simulator::largest_uid_batch() const {
    std::lock_guard lock(mutex_);
    return largest_uid_batch_;
}

std::size_t struct_simulator::largest_key_batch() const {
    std::lock_guard lock(mutex_);
    return largest_key_batch_;
}

}  // namespace changefeed::sim
