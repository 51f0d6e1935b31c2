#include "sim/pennylane/pennylane_simulator.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace changefeed::sim {

namespace json = boost::json;

namespace {

constexpr std::string_view k_prefix = "/api/external/v2";

std::string error_body(unsigned status, std::string_view message) {
    json::object o{{"error", message}, {"status", status}};
    return json::serialize(o);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

// Cursors are opaque to clients: "<generation>.<resource>.<kind>.<offset>", hex-wrapped.
std::string encode_cursor(std::uint64_t generation, const std::string& resource,
                          const std::string& kind, std::size_t offset) {
    std::string plain = std::to_string(generation) + "." + resource + "." + kind + "." +
                        std::to_string(offset);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out = "c";
    for (unsigned char c : plain) {
        out.push_back(k_hex[c >> 4]);
        out.push_back(k_hex[c & 0x0f]);
    }
    return out;
}

std::optional<std::size_t> decode_cursor(std::string_view cursor, std::uint64_t generation,
                                         const std::string& resource, const std::string& kind) {
    if (cursor.size() < 3 || cursor[0] != 'c' || cursor.size() % 2 != 1) {
        return std::nullopt;
    }
    std::string plain;
    for (std::size_t i = 1; i + 1 < cursor.size(); i += 2) {
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            return -1;
        };
        int hi = nibble(cursor[i]);
        int lo = nibble(cursor[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        plain.push_back(static_cast<char>(hi * 16 + lo));
    }
    std::string expected = std::to_string(generation) + "." + resource + "." + kind + ".";
    if (plain.rfind(expected, 0) != 0) {
        return std::nullopt;
    }
    auto offset = parse_int(std::string_view(plain).substr(expected.size()));
    if (!offset || *offset < 0) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(*offset);
}

json::object change_json(const pennylane_simulator::change& c) {
    return json::object{{"id", c.id},
                        {"operation", c.operation},
                        {"processed_at", time::format_rfc3339(c.processed_at)},
                        {"updated_at", time::format_rfc3339(c.updated_at)},
                        {"created_at", time::format_rfc3339(c.created_at)}};
}

const char* pick(std::mt19937_64& rng, std::initializer_list<const char*> options) {
    std::uniform_int_distribution<std::size_t> d(0, options.size() - 1);
    return *(options.begin() + d(rng));
}

}  // namespace

const std::vector<std::string>& pennylane_simulator::resources() {
    static const std::vector<std::string> k{"customer_invoices", "supplier_invoices", "customers",
                                            "suppliers", "products"};
    return k;
}

const std::vector<std::string>& pennylane_simulator::changelog_only_resources() {
    static const std::vector<std::string> k{"transactions"};
    return k;
}

pennylane_simulator::pennylane_simulator(options opts) : opts_(std::move(opts)) {
    for (const auto& r : resources()) {
        stores_[r];
    }
    for (const auto& r : changelog_only_resources()) {
        stores_[r];
    }
}

void pennylane_simulator::install(http::router& routes) {
    for (const auto& store : stores_) {  // every resource has a changelog
        const std::string& r = store.first;
        routes.add("GET", std::string(k_prefix) + "/changelogs/" + r,
                   [this, r](const http::request& req) -> boost::asio::awaitable<http::response> {
                       co_return changelog_page(req, r);
                   });
    }
    for (const auto& r : resources()) {
        routes.add("GET", std::string(k_prefix) + "/" + r,
                   [this, r](const http::request& req) -> boost::asio::awaitable<http::response> {
                       co_return list_page(req, r);
                   });
    }
}

void pennylane_simulator::add_headers(http::response& res) const {
    res.headers.emplace_back("Api-Version-Expires-At", "");
}

std::optional<http::response> pennylane_simulator::admit(const http::request& req) {
    auto auth = req.header("authorization");
    if (!auth || *auth != "Bearer " + opts_.token) {
        return json_reply(401, error_body(401, "Unauthorized: invalid or missing token"));
    }
    auto now = time::now();
    auto window = std::chrono::duration_cast<std::chrono::microseconds>(opts_.rate_limit.window);
    std::erase_if(recent_, [&](time::time_point t) { return t <= now - window; });
    if (retry_not_before_ && now < *retry_not_before_) {
        violation("request " + req.target + " sent before the Retry-After of an earlier 429");
    }
    auto limit = opts_.rate_limit.limit;
    if (recent_.size() >= limit) {
        count_throttled();
        auto frees_at = recent_[recent_.size() - limit] + window;
        auto seconds = std::max<std::int64_t>(
            1, std::chrono::ceil<std::chrono::seconds>(frees_at - now).count());
        retry_not_before_ = frees_at;
        http::response res;
        res.status = 429;
        res.content_type = "text/plain";
        res.body = "Rate limit exceeded. Please retry in " + std::to_string(seconds) + " seconds.";
        auto reset = std::chrono::ceil<std::chrono::seconds>(frees_at.time_since_epoch()).count();
        res.headers.emplace_back("retry-after", std::to_string(seconds));
        res.headers.emplace_back("ratelimit-limit", std::to_string(limit));
        res.headers.emplace_back("ratelimit-remaining", "0");
        res.headers.emplace_back("ratelimit-reset", std::to_string(reset));
        return res;
    }
    recent_.push_back(now);
    return std::nullopt;
}

http::response pennylane_simulator::changelog_page(const http::request& req,
                                                   const std::string& resource) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["changelog"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    auto start_date = req.query_param("start_date");
    auto cursor = req.query_param("cursor");
    auto limit_text = req.query_param("limit");
    if (start_date && cursor) {
        violation("start_date and cursor sent together");
        return json_reply(400, error_body(400, "start_date and cursor cannot be used together"));
    }
    std::int64_t limit = 20;
    if (limit_text) {
        auto parsed = parse_int(*limit_text);
        if (!parsed || *parsed < 1 || *parsed > 1000) {
            violation("changelog limit out of 1..1000: " + std::string(*limit_text));
            return json_reply(400, error_body(400, "limit must be between 1 and 1000"));
        }
        limit = *parsed;
    }
    auto now = time::now();
    auto oldest = now - std::chrono::duration_cast<std::chrono::microseconds>(opts_.retention);
    const auto& log = stores_[resource].log;
    std::size_t offset = 0;
    if (cursor) {
        auto decoded = decode_cursor(*cursor, cursor_generation_, resource, "changelog");
        if (!decoded || *decoded > log.size()) {
            ++cursors_refused_;
            return json_reply(400, error_body(400, "Invalid cursor"));
        }
        offset = *decoded;
    } else {
        auto from = oldest;
        if (start_date) {
            auto parsed = time::parse_rfc3339(*start_date);
            if (!parsed) {
                violation("start_date is not an RFC 3339 date-time: " + std::string(*start_date));
                return json_reply(400, error_body(400, "start_date must be an ISO 8601 date-time"));
            }
            if (*parsed < oldest) {
                return json_reply(422, error_body(422, "start_date cannot be older than 4 weeks"));
            }
            from = *parsed;
        }
        offset = static_cast<std::size_t>(
            std::lower_bound(log.begin(), log.end(), from,
                             [](const change& c, time::time_point t) { return c.processed_at < t; }) -
            log.begin());
    }
    json::array items;
    std::size_t i = offset;
    for (; i < log.size() && items.size() < static_cast<std::size_t>(limit); ++i) {
        if (log[i].processed_at < oldest) {
            continue;  // beyond retention
        }
        items.push_back(change_json(log[i]));
    }
    bool has_more = i < log.size();
    json::object body{{"items", std::move(items)}, {"has_more", has_more}};
    body["next_cursor"] = has_more ? json::value(encode_cursor(cursor_generation_, resource,
                                                               "changelog", i))
                                   : json::value(nullptr);
    auto res = json_reply(200, json::serialize(body));
    add_headers(res);
    return res;
}

http::response pennylane_simulator::list_page(const http::request& req, const std::string& resource) {
    count_request(req);
    std::lock_guard lock(mutex_);
    ++requests_by_kind_["list"];
    if (auto refused = admit(req)) {
        return *refused;
    }
    std::int64_t limit = 20;
    if (auto text = req.query_param("limit")) {
        auto parsed = parse_int(*text);
        if (!parsed || *parsed < 1 || *parsed > 100) {
            violation("list limit out of 1..100: " + std::string(*text));
            return json_reply(400, error_body(400, "limit must be between 1 and 100"));
        }
        limit = *parsed;
    }
    bool ascending = false;
    if (auto sort = req.query_param("sort")) {
        if (*sort == "id") {
            ascending = true;
        } else if (*sort != "-id") {
            violation("unsupported sort: " + std::string(*sort));
            return json_reply(400, error_body(400, "sort must be one of id, -id"));
        }
    }
    if (req.query_param("filters")) {
        violation("`filters` (plural) sent; the parameter is `filter`");
        return json_reply(400, error_body(400, "unknown parameter filters"));
    }
    std::optional<std::set<std::int64_t>> wanted;
    if (auto filter = req.query_param("filter")) {
        boost::system::error_code ec;
        auto parsed = json::parse(*filter, ec);
        if (ec || !parsed.is_array()) {
            violation("filter is not a JSON array");
            return json_reply(400, error_body(400, "filter must be a JSON array"));
        }
        for (const auto& f : parsed.as_array()) {
            const auto* o = f.if_object();
            const json::value* field = o ? o->if_contains("field") : nullptr;
            const json::value* op = o ? o->if_contains("operator") : nullptr;
            const json::value* value = o ? o->if_contains("value") : nullptr;
            if (!field || !op || !value || *field != "id") {
                violation("filter entry is not {field: id, operator, value}");
                return json_reply(400, error_body(400, "unsupported filter"));
            }
            std::set<std::int64_t> ids;
            if (*op == "in") {
                if (!value->is_array() || value->as_array().size() > 100) {
                    violation("`in` filter without an array of at most 100 ids");
                    return json_reply(400, error_body(400, "in expects an array of at most 100 values"));
                }
                for (const auto& v : value->as_array()) {
                    if (!v.is_int64()) {
                        violation("`in` filter with a non-integer id");
                        return json_reply(400, error_body(400, "ids must be integers"));
                    }
                    ids.insert(v.as_int64());
                }
            } else if (*op == "eq" && value->is_int64()) {
                ids.insert(value->as_int64());
            } else {
                violation("unsupported filter operator");
                return json_reply(400, error_body(400, "unsupported filter operator"));
            }
            wanted = std::move(ids);
        }
    }
    const auto& records = stores_[resource].records;
    std::vector<std::int64_t> ids;
    if (wanted) {
        for (auto id : *wanted) {
            if (records.count(id) != 0) {
                ids.push_back(id);
            }
        }
    } else {
        for (const auto& [id, record] : records) {
            ids.push_back(id);
        }
    }
    if (!ascending) {
        std::reverse(ids.begin(), ids.end());
    }
    std::size_t offset = 0;
    if (auto cursor = req.query_param("cursor")) {
        auto decoded = decode_cursor(*cursor, cursor_generation_, resource, "list");
        if (!decoded || *decoded > ids.size()) {
            return json_reply(400, error_body(400, "Invalid cursor"));
        }
        offset = *decoded;
    }
    json::array items;
    std::size_t i = offset;
    for (; i < ids.size() && items.size() < static_cast<std::size_t>(limit); ++i) {
        items.push_back(records.at(ids[i]));
    }
    bool has_more = i < ids.size();
    json::object body{{"items", std::move(items)}, {"has_more", has_more}};
    body["next_cursor"] =
        has_more ? json::value(encode_cursor(cursor_generation_, resource, "list", i))
                 : json::value(nullptr);
    auto res = json_reply(200, json::serialize(body));
    add_headers(res);
    return res;
}

json::object pennylane_simulator::make_record(const std::string& resource, std::int64_t id,
                                              time::time_point at, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> cents(100, 500000);
    auto amount = std::to_string(cents(rng) / 100) + "." + std::to_string(10 + cents(rng) % 90);
    json::object r{{"id", id},
                   {"created_at", time::format_rfc3339(at)},
                   {"updated_at", time::format_rfc3339(at)}};
    if (resource == "customer_invoices" || resource == "supplier_invoices") {
        r["invoice_number"] = "F-2026-" + std::to_string(id);
        r["label"] = std::string(pick(rng, {"Consulting", "Licences", "Hosting", "Travel"}));
        r["status"] = "draft";
        r["draft"] = true;
        r["amount"] = amount;
        r["currency"] = "EUR";
        r["archived_at"] = nullptr;
        r[resource == "customer_invoices" ? "customer" : "supplier"] =
            json::object{{"id", 100 + id % 17}};
    } else if (resource == "transactions") {
        r["label"] = std::string(pick(rng, {"VIR SEPA ACME", "CB HOSTING", "PRLV URSSAF"}));
        r["amount"] = amount;
        r["currency"] = "EUR";
        r["date"] = time::format_rfc3339(at).substr(0, 10);
    } else if (resource == "products") {
        r["label"] = std::string(pick(rng, {"Widget", "Gadget", "Support plan", "Training day"}));
        r["unit"] = "piece";
        r["price_before_tax"] = amount;
        r["vat_rate"] = "FR_200";
    } else {
        r["name"] = std::string(pick(rng, {"Acme", "Globex", "Initech", "Umbrella", "Hooli"})) +
                    " " + std::to_string(id);
        r["emails"] = json::array{"billing" + std::to_string(id) + "@example.com"};
        r["billing_address"] = json::object{{"address", "1 rue de la Paix"},
                                            {"postal_code", "75002"},
                                            {"city", std::string(pick(rng, {"Paris", "Lyon", "Lille"}))},
                                            {"country_alpha2", "FR"}};
    }
    return r;
}

std::int64_t pennylane_simulator::pick_live(store& s, std::mt19937_64& rng) {
    std::uniform_int_distribution<std::size_t> which(0, s.live.size() - 1);
    return s.live[which(rng)];
}

void pennylane_simulator::apply(store& s, const std::string& resource, std::string operation,
                                std::int64_t id, time::time_point at, std::mt19937_64& rng) {
    change c;
    c.id = id;
    c.operation = operation;
    c.processed_at = at;
    c.updated_at = at;
    c.created_at = at;
    if (operation == "insert") {
        s.records[id] = make_record(resource, id, at, rng);
        s.live.push_back(id);
    } else if (operation == "update") {
        auto& r = s.records.at(id);
        c.created_at = *time::parse_rfc3339(r.at("created_at").as_string());
        r["updated_at"] = time::format_rfc3339(at);
        if (r.contains("status")) {
            auto next = std::string(pick(rng, {"finalized", "paid", "late", "cancelled"}));
            r["status"] = next;
            r["draft"] = false;
        } else if (r.contains("billing_address")) {
            r["billing_address"].as_object()["city"] =
                std::string(pick(rng, {"Paris", "Lyon", "Lille", "Nantes", "Bordeaux"}));
        } else {
            std::uniform_int_distribution<int> euros(1, 900);
            r["price_before_tax"] = std::to_string(euros(rng)) + ".00";
        }
    } else {
        auto& r = s.records.at(id);
        c.created_at = *time::parse_rfc3339(r.at("created_at").as_string());
        s.records.erase(id);
        auto pos_live = std::find(s.live.begin(), s.live.end(), id);
        *pos_live = s.live.back();
        s.live.pop_back();
    }
    auto pos = std::upper_bound(s.log.begin(), s.log.end(), at,
                                [](time::time_point t, const change& x) { return t < x.processed_at; });
    if (pos != s.log.end()) {
        ++cursor_generation_;  // an insertion in the middle moves what cursors point at
    }
    s.log.insert(pos, c);
}

void pennylane_simulator::generate(const std::string& resource, std::size_t count,
                                   time::time_point first, std::chrono::microseconds spacing,
                                   std::size_t tie_run, std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    auto& s = stores_.at(resource);
    auto at = first;
    for (std::size_t i = 0; i < count; ++i) {
        if (tie_run <= 1 || (i > 0 && i % tie_run == 0)) {
            if (i > 0) {
                at += spacing;
            }
        }
        std::uniform_int_distribution<int> dice(0, 99);
        int roll = dice(rng);
        std::string op = "insert";
        if (s.records.size() > 10 && roll < 60) {
            op = "update";
        } else if (s.records.size() > 10 && roll < 75) {
            op = "delete";
        }
        std::int64_t id = 0;
        if (op != "insert") {
            // Never the same (id, operation) twice at one instant: that would be one change.
            for (int attempt = 0; attempt < 8 && id == 0; ++attempt) {
                auto candidate = pick_live(s, rng);
                bool repeated = false;
                for (auto it = s.log.rbegin(); it != s.log.rend() && it->processed_at >= at; ++it) {
                    repeated = repeated || (it->processed_at == at && it->id == candidate &&
                                            it->operation == op);
                }
                if (!repeated) {
                    id = candidate;
                }
            }
        }
        if (id == 0) {
            op = "insert";
            id = s.next_id++;
        }
        apply(s, resource, op, id, at, rng);
    }
}

void pennylane_simulator::generate_tie(const std::string& resource, std::size_t count,
                                       time::time_point at, std::uint64_t seed) {
    std::lock_guard lock(mutex_);
    std::mt19937_64 rng(seed);
    auto& s = stores_.at(resource);
    for (std::size_t i = 0; i < count; ++i) {
        // Updates of records created in this batch, each once: no (id, operation) repeats.
        if (i % 2 == 0) {
            apply(s, resource, "insert", s.next_id++, at, rng);
        } else {
            apply(s, resource, "update", s.next_id - 1, at, rng);
        }
    }
}

void pennylane_simulator::tick(std::mt19937_64& rng) {
    std::uniform_int_distribution<std::size_t> which(0, resources().size() - 1);
    const auto& resource = resources()[which(rng)];
    std::uniform_int_distribution<int> how_many(1, 3);
    generate(resource, static_cast<std::size_t>(how_many(rng)), time::now(),
             std::chrono::microseconds(1000), 1, rng());
}

std::vector<pennylane_simulator::change> pennylane_simulator::changelog(const std::string& resource) const {
    std::lock_guard lock(mutex_);
    return stores_.at(resource).log;
}

std::map<std::int64_t, json::object> pennylane_simulator::records(const std::string& resource) const {
    std::lock_guard lock(mutex_);
    return stores_.at(resource).records;
}

void pennylane_simulator::expire_cursors() {
    std::lock_guard lock(mutex_);
    ++cursor_generation_;
}

std::uint64_t pennylane_simulator::requests_of(const std::string& kind) const {
    std::lock_guard lock(mutex_);
    auto it = requests_by_kind_.find(kind);
    return it == requests_by_kind_.end() ? 0 : it->second;
}

std::uint64_t pennylane_simulator::cursors_refused() const {
    std::lock_guard lock(mutex_);
    return cursors_refused_;
}

void pennylane_simulator::set_rate_limit(sources::rate_window limit) {
    std::lock_guard lock(mutex_);
    opts_.rate_limit = limit;
}

}  // namespace changefeed::sim
