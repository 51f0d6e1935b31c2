// No secret ever leaves the service in a log line, an error body or a status page: every kind of
// secret gets a distinctive value, and every error path is driven (upstream 401/403/429/5xx,
// broken connections, invalid answers and refused TLS for every source kind, wrong feed and
// webhook tokens, malformed and oversized webhooks, an unreachable database). Also: an upstream
// with a self-signed or wrong-host certificate is refused, one from a trusted CA is accepted.
#include "core/time.hpp"
#include "db/migrations.hpp"
#include "sim/struct/struct_simulator.hpp"
#include "sources/common/upstream.hpp"
#include "support/feed_reader.hpp"
#include "support/http_client.hpp"
#include "support/log_capture.hpp"
#include "support/pg_fixture.hpp"
#include "support/service_fixture.hpp"
#include "support/sim_runner.hpp"
#include "support/source_status.hpp"
#include "support/tls_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <thread>

namespace changefeed::test {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Distinctive values: '+', '/' and '=' make their URL-encoded forms differ from the raw ones.
const std::string k_feed_token = "FEEDTOKEN-q7Zr+4k/Wm=";
const std::string k_pennylane_token = "PLTOKEN-c3Vx+9e/Lp=";
const std::string k_sales_key_id = "SCKEYID-h2Jd4nR8";
const std::string k_sales_key_secret = "SCKEYSECRET-t6Yb+1o/Qa=";
const std::string k_sales_bearer = "SCBEARER-f8Nw+3u/Gk=";
const std::string k_retailcrm_key = "RCRMKEY-m5Tq+7i/Ds=";
const std::string k_struct_key = "STRUCTKEY-b9Hc+2y/Ve=";
const std::string k_precoro_token = "PRECOROTOKEN-w4Lk+6a/Xn=";
const std::string k_webhook_secret = "WEBHOOKSECRET-p1Rg5s8Zu2";
const std::string k_db_password = "DBPASSWORD-k3Ef+0j/Ob=";
// What a client presents by mistake is not logged either.
const std::string k_wrong_feed_token = "WRONGFEEDTOKEN-z6Xa9";
const std::string k_wrong_webhook_token = "WRONGWEBHOOKTOKEN-y2Cv7";

std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// Every form in which a secret must not appear: raw, URL-encoded (both cases of hex digits) and,
// for the sales-channel Basic credentials, the Authorization value itself.
std::vector<std::pair<std::string, std::string>> forbidden_forms() {
    std::vector<std::pair<std::string, std::string>> named = {
        {"feed token", k_feed_token},
        {"pennylane token", k_pennylane_token},
        {"saleschannel api_key_secret", k_sales_key_secret},
        {"saleschannel bearer token", k_sales_bearer},
        {"retailcrm api_key", k_retailcrm_key},
        {"struct api_key", k_struct_key},
        {"precoro token", k_precoro_token},
        {"precoro webhook_secret", k_webhook_secret},
        {"database password", k_db_password},
        {"a wrong feed token", k_wrong_feed_token},
        {"a wrong webhook token", k_wrong_webhook_token},
    };
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, value] : named) {
        out.emplace_back(name, value);
        auto encoded = url_encode(value);
        if (encoded != value) {
            out.emplace_back(name + " (URL-encoded)", encoded);
            std::string lower = encoded;
            for (std::size_t i = 0; i < lower.size(); ++i) {
                if (lower[i] == '%' && i + 2 < lower.size()) {
                    lower[i + 1] = static_cast<char>(std::tolower(lower[i + 1]));
                    lower[i + 2] = static_cast<char>(std::tolower(lower[i + 2]));
                }
            }
            out.emplace_back(name + " (url-encoded)", lower);
        }
    }
    auto basic = sources::basic_auth(k_sales_key_id, k_sales_key_secret).substr(6);  // after "Basic "
    out.emplace_back("saleschannel Basic credentials", basic);
    return out;
}

// Fails the test for every secret found in `text`, naming where it was seen.
void expect_no_secret(const std::string& where, const std::string& text) {
    static const auto forms = forbidden_forms();
    for (const auto& [name, value] : forms) {
        auto pos = text.find(value);
        if (pos != std::string::npos) {
            auto from = pos > 120 ? pos - 120 : 0;
            ADD_FAILURE() << "the " << name << " appears in " << where << ": ..."
                          << text.substr(from, 240 + value.size()) << "...";
        }
    }
}

// Every captured log line, raw and with its JSON string values decoded (an escaped secret is
// still one); `expect_lines`: the path under test must have logged something.
void expect_clean_logs(const log_capture& logs, const std::string& what, bool expect_lines = true) {
    auto all = logs.lines();
    if (expect_lines) {
        EXPECT_FALSE(all.empty()) << what << ": no log line was captured";
    }
    for (const auto& line : all) {
        expect_no_secret(what + " log line", line);
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (ec || !v.is_object()) {
            ADD_FAILURE() << what << ": a log line is not a JSON object: " << line;
            continue;
        }
        for (const auto& [key, value] : v.as_object()) {
            if (value.is_string()) {
                expect_no_secret(what + " log field " + std::string(key), std::string(value.as_string()));
            }
        }
    }
}

// The test server's URL with a password for its user (the server trusts local connections, so
// the password is carried but never checked).
std::string with_password(const std::string& url, const std::string& password) {
    auto scheme = url.find("://");
    auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos) {
        throw std::runtime_error("unexpected test database URL");
    }
    return url.substr(0, at) + ":" + url_encode(password) + url.substr(at);
}

//------------------------------------------------------------------------------ hostile upstream

enum class fault { unauthorized, forbidden, server_error, throttled, bad_gateway_html, hang_up, garbage };

std::string fault_name(fault f) {
    switch (f) {
    case fault::unauthorized: return "401";
    case fault::forbidden: return "403";
    case fault::server_error: return "500";
    case fault::throttled: return "429";
    case fault::bad_gateway_html: return "502";
    case fault::hang_up: return "hang_up";
    case fault::garbage: return "garbage";
    }
    return "?";
}

// A vendor that fails every request in one way, and reflects the whole request (request line with
// its query, every header, the body) in its answer, as careless APIs do in their error messages.
class hostile_upstream {
public:
    explicit hostile_upstream(fault f) : fault_(f), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
        port_ = acceptor_.local_endpoint().port();
        asio::co_spawn(ioc_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~hostile_upstream() {
        ioc_.stop();
        thread_.join();
    }
    [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] unsigned short port() const { return port_; }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                co_return;
            }
            asio::co_spawn(ioc_, answer(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> answer(tcp::socket socket) {
        constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
        asio::streambuf buf(1024 * 1024);
        auto [ec, n] = co_await asio::async_read_until(socket, buf, "\r\n\r\n", tuple);
        if (ec) {
            co_return;
        }
        std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
        buf.consume(n);
        std::size_t length = 0;
        std::string lower = head;
        for (auto& c : lower) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (auto pos = lower.find("\r\ncontent-length:"); pos != std::string::npos) {
            length = std::strtoul(lower.c_str() + pos + 17, nullptr, 10);
        }
        if (length > buf.size()) {
            auto [body_ec, body_n] = co_await asio::async_read(
                socket, buf, asio::transfer_exactly(length - buf.size()), tuple);
            if (body_ec) {
                co_return;
            }
        }
        std::string body(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
        auto echo = head + body;
        if (fault_ == fault::hang_up) {
            co_return;  // closes without a word
        }
        unsigned status = 0;
        std::string type = "application/json";
        std::string extra;
        std::string text;
        auto quoted = json::serialize(json::value(echo));
        auto json_error = "{\"error\":" + quoted + ",\"message\":" + quoted + ",\"errorMsg\":" + quoted +
                          ",\"errors\":[" + quoted + "],\"success\":false,\"Message\":" + quoted + "}";
        switch (fault_) {
        case fault::unauthorized: status = 401; text = json_error; break;
        case fault::forbidden: status = 403; text = json_error; break;
        case fault::server_error: status = 500; text = json_error; break;
        case fault::throttled:
            status = 429;
            text = json_error;
            extra = "Retry-After: 1\r\n";
            break;
        case fault::bad_gateway_html:
            status = 502;
            type = "text/html";
            text = "<html><body><pre>" + echo + "</pre></body></html>";
            break;
        case fault::garbage:
            status = 200;
            text = "not json at all: " + echo;
            break;
        case fault::hang_up: break;
        }
        auto reply = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
                     "\r\nContent-Length: " + std::to_string(text.size()) + "\r\n" + extra +
                     "Connection: close\r\n\r\n" + text;
        (void)co_await asio::async_write(socket, asio::buffer(reply), tuple);
    }

    fault fault_;
    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::thread thread_;
};

//------------------------------------------------------------------------------ configuration

// Every source kind (the sales channel twice: Basic and Bearer) against `base_url`, each with its
// secrets; polls often, retries quickly.
std::string all_sources(const std::string& base_url) {
    auto common = "    base_url: \"" + base_url + "\"\n    poll_interval: 200ms\n    timeout: 5s\n";
    return "  - name: pennylane\n    kind: pennylane\n" + common +
           "    token: \"" + k_pennylane_token + "\"\n"
           "  - name: payments\n    kind: saleschannel\n" + common +
           "    api_key_id: \"" + k_sales_key_id + "\"\n"
           "    api_key_secret: \"" + k_sales_key_secret + "\"\n"
           "  - name: payments_bearer\n    kind: saleschannel\n" + common +
           "    token: \"" + k_sales_bearer + "\"\n"
           "  - name: retailcrm\n    kind: retailcrm\n" + common +
           "    api_key: \"" + k_retailcrm_key + "\"\n"
           "  - name: pim\n    kind: struct\n" + common +
           "    api_key: \"" + k_struct_key + "\"\n"
           "  - name: precoro\n    kind: precoro\n" + common +
           "    token: \"" + k_precoro_token + "\"\n"
           "    email: \"buyer@example.com\"\n"
           "    webhook_secret: \"" + k_webhook_secret + "\"\n";
}

constexpr std::size_t k_source_count = 6;

std::map<std::string, std::string> bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

// Awaits, source by source (every source /sources lists), a last_error that `accept` takes, all
// within `limit`; returns the whole GET /sources body then, for the callers' checks (a source
// that keeps failing keeps its last_error).
std::string wait_for_errors(unsigned short port, const std::function<bool(const std::string&)>& accept,
                            std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto listed = http_request(port, "GET", "/sources", bearer(k_feed_token), {}, 10s);
    boost::system::error_code ec;
    auto v = json::parse(listed.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("sources")) {
        return listed.body;
    }
    for (const auto& source : v.at("sources").as_array()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        await_source(port, std::string(source.at("name").as_string()),
                     [&](const json::object& s) { return accept(last_error_of(s)); },
                     std::max(left, std::chrono::milliseconds(1)), bearer(k_feed_token));
    }
    return http_request(port, "GET", "/sources", bearer(k_feed_token), {}, 10s).body;
}

std::size_t sources_with_error(const std::string& body, const std::function<bool(const std::string&)>& accept) {
    std::size_t n = 0;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("sources")) {
        return 0;
    }
    for (const auto& s : v.at("sources").as_array()) {
        const auto* err = s.as_object().if_contains("last_error");
        if (err && err->is_string() && accept(std::string(err->as_string()))) {
            ++n;
        }
    }
    return n;
}

// Sets an environment variable for the lifetime of the object.
class scoped_env {
public:
    scoped_env(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        ::setenv(name, value.c_str(), 1);
    }
    ~scoped_env() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

class secrets_test : public ::testing::Test {
protected:
    void SetUp() override {
        db::apply_migrations(db_.url());
        db_url_ = with_password(db_.url(), k_db_password);
    }
    scratch_database db_;
    std::string db_url_;
};

//------------------------------------------------------------------------------ tests

class secrets_upstream_faults : public secrets_test, public ::testing::WithParamInterface<fault> {};

TEST_P(secrets_upstream_faults, no_secret_in_logs_status_or_metrics_when_every_source_fails) {
    hostile_upstream upstream(GetParam());
    log_capture logs;
    std::string sources_body;
    std::string metrics;
    {
        running_service svc(config_with_sources(db_url_, all_sources(upstream.base_url()), {k_feed_token}));
        auto failed = [](const std::string& e) { return !e.empty(); };
        sources_body = wait_for_errors(svc.port(), failed, 60s);
        EXPECT_EQ(sources_with_error(sources_body, failed), k_source_count)
            << "not every source reported its failure: " << sources_body;
        metrics = http_get(svc.port(), "/metrics").body;
    }
    expect_no_secret("GET /sources", sources_body);
    expect_no_secret("GET /metrics", metrics);
    expect_clean_logs(logs, "upstream " + fault_name(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(faults, secrets_upstream_faults,
                         ::testing::Values(fault::unauthorized, fault::forbidden, fault::server_error,
                                           fault::throttled, fault::bad_gateway_html, fault::hang_up,
                                           fault::garbage),
                         [](const auto& info) {
                             auto name = fault_name(info.param);
                             return std::isdigit(static_cast<unsigned char>(name[0])) ? "status_" + name : name;
                         });

TEST_F(secrets_test, no_secret_in_error_bodies_or_logs_for_wrong_tokens_and_bad_webhooks) {
    hostile_upstream upstream(fault::unauthorized);
    log_capture logs;
    std::vector<std::pair<std::string, http_reply>> replies;
    {
        // Sources that never poll during the test: only the HTTP side is driven here.
        auto yaml = all_sources(upstream.base_url());
        for (std::string::size_type pos = 0; (pos = yaml.find("poll_interval: 200ms", pos)) != std::string::npos;) {
            yaml.replace(pos, 20, "poll_interval: 1h  ");
        }
        running_service svc(config_with_sources(db_url_, yaml, {k_feed_token}));
        auto port = svc.port();
        auto webhook = [&](const std::string& query, const std::string& body) {
            return http_request(port, "POST", "/webhooks/precoro" + query,
                                {{"Content-Type", "application/json"}}, body, 10s);
        };
        auto record = [&](const std::string& what, http_reply r, unsigned want) {
            EXPECT_EQ(r.status, want) << what << ": " << r.body;
            if (r.status >= 400) {
                boost::system::error_code ec;
                auto v = json::parse(r.body, ec);
                EXPECT_TRUE(!ec && v.is_object() && v.as_object().contains("error"))
                    << what << ": not a JSON error: " << r.body;
            }
            replies.emplace_back(what, std::move(r));
        };
        // The feed's tokens.
        record("/changes without a token", http_get(port, "/changes"), 401);
        record("/changes with a wrong token", http_get(port, "/changes", bearer(k_wrong_feed_token)), 401);
        record("/changes with a token as a query parameter",
               http_get(port, "/changes?token=" + url_encode(k_wrong_feed_token)), 401);
        record("/sources with a wrong token", http_get(port, "/sources", bearer(k_wrong_feed_token)), 401);
        record("/consumers with a wrong token",
               http_get(port, "/consumers/x", bearer(k_wrong_feed_token)), 401);
        record("/changes with a malformed parameter", http_get(port, "/changes?since=x", bearer(k_feed_token)), 400);
        // The webhook's token is in the query string.
        const std::string good = "?token=" + url_encode(k_webhook_secret);
        const std::string delivery = R"({"id": 17, "idn": "PO-17", "type": "purchaseorders", "action": 1})";
        record("webhook without a token", webhook("", delivery), 401);
        record("webhook with a wrong token", webhook("?token=" + url_encode(k_wrong_webhook_token), delivery), 401);
        record("webhook with a malformed body", webhook(good, "{\"id\": " + k_webhook_secret), 400);
        record("webhook with a body that is not an object", webhook(good, "[1,2,3]"), 400);
        record("webhook to an unknown source",
               http_request(port, "POST", "/webhooks/nope" + good, {}, delivery, 10s), 404);
        record("webhook with the wrong method", http_get(port, "/webhooks/precoro" + good), 405);
        record("webhook over 1 MiB", webhook(good, std::string(1024 * 1024 + 10, ' ')), 413);
        record("unknown path carrying the token", http_get(port, "/nowhere" + good), 404);
        record("oversized header carrying the token",
               http_request(port, "GET", "/changes" + good, {{"X-Pad", std::string(17 * 1024, 'p')}}, {}, 10s),
               431);
        record("resync with a wrong token",
               http_request(port, "POST", "/sources/precoro/resync", bearer(k_wrong_feed_token), {}, 10s), 401);
        record("resync with a malformed body",
               http_request(port, "POST", "/sources/precoro/resync", bearer(k_feed_token),
                            "{\"from\": \"yesterday\"}", 10s),
               400);
    }
    for (const auto& [what, r] : replies) {
        expect_no_secret(what + " (body)", r.body);
        for (const auto& [name, value] : r.headers) {
            expect_no_secret(what + " (header " + name + ")", value);
        }
    }
    expect_clean_logs(logs, "HTTP error paths");
}

TEST_F(secrets_test, an_unreachable_database_is_reported_without_its_password) {
    log_capture logs;
    // Nothing listens on port 1; the password travels in the URL.
    auto url = "postgresql://changefeed:" + url_encode(k_db_password) +
               "@127.0.0.1:1/changefeed?connect_timeout=2";
    std::string failure;
    std::string ready;
    try {
        running_service svc(config_with_sources(url, {}, {k_feed_token}));
        ready = http_get(svc.port(), "/readyz").body;
        auto changes = http_request(svc.port(), "GET", "/changes", bearer(k_feed_token), {}, 30s);
        expect_no_secret("/changes while the database is down", changes.body);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    // The service refuses to start (migrations first); whatever it says or logs names no password.
    EXPECT_NE(failure.find("127.0.0.1"), std::string::npos) << "the failure must name the server: " << failure;
    expect_no_secret("the start failure", failure);
    expect_no_secret("/readyz", ready);
    expect_clean_logs(logs, "database unreachable", false);
}

//------------------------------------------------------------------------------ TLS

// Every source against a TLS listener that presents `identity`: all are refused, with a message
// naming the TLS failure, and no secret is shown.
// `reason`: what the error says after "certificate verify failed: ".
void expect_refused(const std::string& db_url, const tls_identity& identity, const std::string& ca_file,
                    unsigned short backend_port, const std::string& reason) {
    tls_proxy proxy(identity, backend_port);
    scoped_env trust("SSL_CERT_FILE", ca_file);
    log_capture logs;
    std::string sources_body;
    {
        auto base = "https://localhost:" + std::to_string(proxy.port());
        running_service svc(config_with_sources(db_url, all_sources(base), {k_feed_token}));
        auto tls_refused = [&reason](const std::string& e) {
            return e.find("TLS handshake failed") != std::string::npos &&
                   e.find("certificate verify failed: " + reason) != std::string::npos;
        };
        sources_body = wait_for_errors(svc.port(), tls_refused, 60s);
        EXPECT_EQ(sources_with_error(sources_body, tls_refused), k_source_count)
            << "every source must report the refused certificate: " << sources_body;
    }
    EXPECT_EQ(proxy.handshakes_completed(), 0);
    EXPECT_GT(proxy.handshakes_failed(), 0);
    expect_no_secret("GET /sources", sources_body);
    expect_clean_logs(logs, "TLS refused");
}

TEST_F(secrets_test, an_upstream_with_a_self_signed_certificate_is_refused) {
    test_pki pki;
    hostile_upstream backend(fault::unauthorized);
    // The CA is trusted; the listener's certificate is not signed by it.
    expect_refused(db_url_, pki.self_signed("DNS:localhost"), pki.ca_file(), backend.port(),
                   "self-signed certificate");
}

TEST_F(secrets_test, an_upstream_with_a_trusted_certificate_for_another_host_is_refused) {
    test_pki pki;
    hostile_upstream backend(fault::unauthorized);
    expect_refused(db_url_, pki.issue("DNS:other.example"), pki.ca_file(), backend.port(),
                   "the certificate is not valid for localhost");
}

TEST_F(secrets_test, an_upstream_with_a_certificate_from_a_trusted_ca_is_accepted) {
    test_pki pki;
    sim::struct_simulator sim;
    sim.commit_transactions(5, time::now() - 1h, 10s, 1);
    sim_runner runner(sim);
    auto backend_port = static_cast<unsigned short>(std::stoi(runner.base_url().substr(runner.base_url().rfind(':') + 1)));
    tls_proxy proxy(pki.issue("DNS:localhost"), backend_port);
    scoped_env trust("SSL_CERT_FILE", pki.ca_file());
    auto yaml = "  - name: pim\n    kind: struct\n    base_url: \"https://localhost:" +
                std::to_string(proxy.port()) + "\"\n    api_key: \"sim-struct-api-key\"\n"
                "    poll_interval: 200ms\n    rate_limit: [{limit: 10000, window: 1s}]\n";
    running_service svc(config_with_sources(db_.url(), yaml));
    auto read = read_feed_until(svc.port(), sim.revisions().size(), 60s);
    EXPECT_EQ(read.events.size(), sim.revisions().size());
    EXPECT_GT(proxy.handshakes_completed(), 0);
    EXPECT_EQ(proxy.handshakes_failed(), 0);
}

}  // namespace
}  // namespace changefeed::test
