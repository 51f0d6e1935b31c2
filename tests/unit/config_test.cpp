#include "app/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace changefeed::app {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

using env_map = std::map<std::string, std::string, std::less<>>;

env_lookup env_of(env_map vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

const env_map k_spec_env{
    {"DATABASE_URL", "postgresql://cf:db-pass-7Qx@db.internal:5432/changefeed?sslmode=require"},
    {"FEED_TOKEN", "feed-token-3Zk"},
    {"PENNYLANE_TOKEN", "pennylane-token-9Wd"},
    {"PURO_KEY_ID", "puro-id-4Rt"},
    {"PURO_KEY_SECRET", "puro-secret-8Lm"},
    {"RETAILCRM_API_KEY", "retailcrm-key-2Fb"},
    {"STRUCT_API_KEY", "struct-key-6Hn"},
    {"PRECORO_TOKEN", "precoro-token-1Vc"},
    {"PRECORO_EMAIL", "precoro-mail-5Ge@example.com"},
    {"PRECORO_WEBHOOK_SECRET", "precoro-hook-0Yp4Vq"},
};

// The example of SPEC section 3, verbatim.
constexpr std::string_view k_spec_yaml = R"(listen: "0.0.0.0:8080"
database_url: "${DATABASE_URL}"          # libpq URI
feed:
  tokens: ["${FEED_TOKEN}"]              # bearer tokens that may read /changes and /sources;
                                         # an empty list means no auth (a warning is logged)
  max_limit: 1000                        # largest accepted `limit`
  retention: 30d                         # outbox rows older than this are deleted; 0 keeps all
sources:
  - name: pennylane                      # [a-z0-9_-]{1,40}, unique; the event's "source"
    kind: pennylane                      # pennylane | saleschannel | retailcrm | struct | precoro
    base_url: "https://app.pennylane.com"
    token: "${PENNYLANE_TOKEN}"
    resources: [customer_invoices, supplier_invoices, products, customers, suppliers]
    poll_interval: 60s
    hydrate: true                        # fetch the current resource state into "data"
  - name: payments
    kind: saleschannel
    base_url: "https://scs.api.puro.earth"
    api_key_id: "${PURO_KEY_ID}"               # HTTP Basic id:passphrase; or `token:` for Bearer
    api_key_secret: "${PURO_KEY_SECRET}"
    query_encoding: brackets                   # brackets | json
    poll_interval: 10s
  - name: retailcrm
    kind: retailcrm
    base_url: "https://demo.retailcrm.ru"
    api_key: "${RETAILCRM_API_KEY}"
    resources: [orders, customers, customers_corporate]
    poll_interval: 5m
  - name: struct
    kind: struct
    base_url: "https://api.example.struct.com"
    api_key: "${STRUCT_API_KEY}"
    poll_interval: 60s
  - name: precoro
    kind: precoro
    base_url: "https://api.precoro.com"
    token: "${PRECORO_TOKEN}"
    email: "${PRECORO_EMAIL}"
    resources: [suppliers, purchaseorders, invoices]
    poll_interval: 15m                   # modifiedSince reconciliation behind the webhooks
    webhook_secret: "${PRECORO_WEBHOOK_SECRET}"
    rate_limit:                          # each window admits `limit` requests in any span of
      - { limit: 300, window: 1m }       # `window` (bursts allowed), all windows at once
      - { limit: 1500, window: 1h }
      - { limit: 3000, window: 1d }
)";

app_config load_ok(std::string_view yaml, const env_map& env = k_spec_env) {
    auto result = load_config_text(yaml, "test.yaml", env_of(env));
    if (auto* error = std::get_if<config_error>(&result)) {
        ADD_FAILURE() << "unexpected error: " << error->message;
        return {};
    }
    return std::get<app_config>(std::move(result));
}

std::string load_error(std::string_view yaml, const env_map& env = k_spec_env) {
    auto result = load_config_text(yaml, "test.yaml", env_of(env));
    if (auto* error = std::get_if<config_error>(&result)) {
        return error->message;
    }
    ADD_FAILURE() << "loaded without error:\n" << yaml;
    return {};
}

// A valid config with one source; `source_lines` are appended to its mapping (4-space indent),
// starting on line 6.
std::string with_source(std::string_view kind, std::string_view source_lines) {
    return "database_url: \"postgresql://localhost/cf\"\n"
           "sources:\n"
           "  - name: one\n"
           "    kind: " +
           std::string(kind) +
           "\n"
           "    base_url: \"http://127.0.0.1:9000\"\n" +
           std::string(source_lines);
}

TEST(config, spec_example_loads_with_defaults_and_env) {
    auto config = load_ok(k_spec_yaml);
    EXPECT_EQ(config.listen, "0.0.0.0:8080");
    EXPECT_EQ(config.database_url, k_spec_env.at("DATABASE_URL"));
    EXPECT_EQ(config.log_level, "info");
    EXPECT_EQ(config.database_pool_size, 4u);
    EXPECT_EQ(config.feed.tokens, std::vector<std::string>{"feed-token-3Zk"});
    EXPECT_EQ(config.feed.max_limit, 1000u);
    EXPECT_EQ(config.feed.retention, std::chrono::days{30});
    ASSERT_EQ(config.sources.size(), 5u);

    const auto& pennylane = config.sources[0];
    EXPECT_EQ(pennylane.name, "pennylane");
    EXPECT_EQ(pennylane.kind, "pennylane");
    EXPECT_EQ(pennylane.base_url, "https://app.pennylane.com");
    EXPECT_TRUE(pennylane.enabled);
    EXPECT_EQ(pennylane.poll_interval, 60s);
    EXPECT_EQ(pennylane.timeout, 30s);
    EXPECT_EQ(pennylane.rate_limit, (std::vector<sources::rate_window>{{25, 5s}}));
    EXPECT_FALSE(pennylane.start_from);
    EXPECT_EQ(pennylane.resources,
              (std::vector<std::string>{"customer_invoices", "supplier_invoices", "products",
                                        "customers", "suppliers"}));
    EXPECT_EQ(pennylane.option_string("token"), "pennylane-token-9Wd");
    EXPECT_TRUE(pennylane.option_bool("hydrate"));
    EXPECT_EQ(pennylane.option_int("hydrate_chunk"), 100);
    EXPECT_EQ(pennylane.option_int("page_limit"), 1000);
    EXPECT_EQ(pennylane.option_duration("overlap"), 60s);

    const auto& payments = config.sources[1];
    EXPECT_EQ(payments.kind, "saleschannel");
    EXPECT_EQ(payments.poll_interval, 10s);
    EXPECT_EQ(payments.rate_limit, (std::vector<sources::rate_window>{{5, 1s}}));
    EXPECT_TRUE(payments.resources.empty());
    EXPECT_EQ(payments.option_string("api_key_id"), "puro-id-4Rt");
    EXPECT_EQ(payments.option_string("api_key_secret"), "puro-secret-8Lm");
    EXPECT_TRUE(payments.options.at("token").is_null());
    EXPECT_EQ(payments.option_string("query_encoding"), "brackets");
    EXPECT_EQ(payments.option_int("page_limit"), 100);

    const auto& retailcrm = config.sources[2];
    EXPECT_EQ(retailcrm.poll_interval, 5min);
    EXPECT_EQ(retailcrm.rate_limit, (std::vector<sources::rate_window>{{10, 1s}}));
    EXPECT_EQ(retailcrm.option_string("api_key"), "retailcrm-key-2Fb");
    EXPECT_EQ(retailcrm.option_int("page_limit"), 100);
    EXPECT_EQ(retailcrm.option_string("start_date"), "");
    EXPECT_EQ(retailcrm.option_string("timezone"), "UTC");
    EXPECT_FALSE(retailcrm.option_bool("skip_own_changes"));

    const auto& structure = config.sources[3];
    EXPECT_EQ(structure.option_duration("overlap"), 5min);
    EXPECT_EQ(structure.option_int("page_size"), 100);
    EXPECT_EQ(structure.option_string("param_page"), "page");
    EXPECT_EQ(structure.option_string("param_committed_after"), "committedAfter");
    EXPECT_EQ(structure.option_string("param_committed_before"), "committedBefore");
    EXPECT_EQ(structure.option_int("changedentities_batch"), 5000);
    EXPECT_EQ(structure.option_int("changes_batch"), 1000);
    EXPECT_FALSE(structure.option_bool("field_diffs"));

    const auto& precoro = config.sources[4];
    EXPECT_EQ(precoro.poll_interval, 15min);
    EXPECT_EQ(precoro.rate_limit, (std::vector<sources::rate_window>{
                                      {300, 1min}, {1500, 1h}, {3000, std::chrono::days{1}}}));
    EXPECT_EQ(precoro.resources,
              (std::vector<std::string>{"suppliers", "purchaseorders", "invoices"}));
    EXPECT_EQ(precoro.option_string("email"), "precoro-mail-5Ge@example.com");
    EXPECT_EQ(precoro.option_string("webhook_secret"), "precoro-hook-0Yp4Vq");
    EXPECT_EQ(precoro.option_int("per_page"), 200);
    EXPECT_EQ(precoro.option_duration("overlap"), 10min);
    EXPECT_THROW(precoro.option_string("tokn"), std::logic_error);
    EXPECT_THROW(precoro.option_bool("per_page"), std::logic_error);
}

TEST(config, minimal_file_gets_defaults_and_resource_defaults) {
    auto one = load_ok("database_url: \"postgresql://localhost/cf\"\n"
                       "sources:\n"
                       "  - name: crm\n"
                       "    kind: retailcrm\n"
                       "    base_url: \"http://127.0.0.1:9000/prefix/\"\n"
                       "    api_key: k\n"
                       "    start_from: now\n");
    ASSERT_EQ(one.sources.size(), 1u);
    EXPECT_EQ(one.sources[0].base_url, "http://127.0.0.1:9000/prefix");
    EXPECT_EQ(one.sources[0].start_from, "now");
    EXPECT_EQ(one.sources[0].resources,
              (std::vector<std::string>{"orders", "customers", "customers_corporate"}));
    auto unlimited =
        load_ok(with_source("struct", "    api_key: k\n    rate_limit: []\n    enabled: False\n"));
    ASSERT_EQ(unlimited.sources.size(), 1u);
    EXPECT_TRUE(unlimited.sources[0].rate_limit.empty());
    EXPECT_FALSE(unlimited.sources[0].enabled);
    EXPECT_TRUE(load_ok("database_url: postgresql://localhost/cf\n").sources.empty());
    EXPECT_TRUE(load_ok("database_url: postgresql://localhost/cf\nsources: []\n").sources.empty());
}

TEST(config, diff_array_keys_are_checked_when_loading) {
    auto ok = load_ok(with_source("pennylane", "    token: t\n    diff_array_keys: [\"/invoice_lines=id\"]\n"));
    EXPECT_EQ(ok.sources[0].option_string_list("diff_array_keys"),
              std::vector<std::string>{"/invoice_lines=id"});
    auto error = load_error(with_source("pennylane", "    token: t\n    diff_array_keys: [lines]\n"));
    EXPECT_NE(error.find("diff_array_keys"), std::string::npos) << error;
    EXPECT_NE(error.find("'lines' is not POINTER=KEY"), std::string::npos) << error;
}

TEST(config, precoro_diff_array_keys_are_checked_when_loading) {
    const std::string secrets =
        "    token: t\n    email: e@example.com\n    webhook_secret: w-0123456789abcdef\n";
    auto ok = load_ok(with_source("precoro", secrets + "    diff_array_keys: [\"/items=id\"]\n"));
    EXPECT_EQ(ok.sources[0].option_string_list("diff_array_keys"), std::vector<std::string>{"/items=id"});
    auto error = load_error(with_source("precoro", secrets + "    diff_array_keys: [\"/items\"]\n"));
    EXPECT_NE(error.find("diff_array_keys"), std::string::npos) << error;
    EXPECT_NE(error.find("'/items' is not POINTER=KEY"), std::string::npos) << error;
}

TEST(config, unknown_key_suggests_the_nearest) {
    EXPECT_EQ(
        load_error(with_source("struct", "    api_key: k\n    poll_intervl: 60s\n")),
        "test.yaml:7: sources[0].poll_intervl: unknown key (did you mean \"poll_interval\"?)");
    EXPECT_EQ(load_error("databse_url: postgresql://localhost/cf\n"),
              "test.yaml:1: databse_url: unknown key (did you mean \"database_url\"?)");
    EXPECT_EQ(load_error("database_url: postgresql://localhost/cf\nfeed:\n  max_limt: 5\n"),
              "test.yaml:3: feed.max_limt: unknown key (did you mean \"max_limit\"?)");
    EXPECT_EQ(load_error("database_url: postgresql://localhost/cf\nbananas: 1\n"),
              "test.yaml:2: bananas: unknown key");
}

TEST(config, unset_variable_is_named_and_no_value_is_printed) {
    env_map env{{"LIMIT", "limit-value-5Pq"}};
    EXPECT_EQ(load_error("database_url: \"${DATABASE_URL}\"\n", env),
              "test.yaml:1: database_url: environment variable DATABASE_URL is not set");
    auto message = load_error(
        "database_url: postgresql://localhost/cf\nfeed:\n  max_limit: \"${LIMIT}\"\n", env);
    EXPECT_THAT(message, HasSubstr("test.yaml:3: feed.max_limit:"));
    EXPECT_THAT(message, Not(HasSubstr("limit-value-5Pq")));
}

TEST(config, variables_expand_inside_scalars_and_double_dollar_escapes) {
    auto config = load_ok("database_url: \"postgresql://u@${HOST}:5432/db\"\n"
                          "feed:\n  tokens: [\"a-${HOST}-b\", \"$${HOST}\", \"$5\"]\n",
                          {{"HOST", "pg"}});
    EXPECT_EQ(config.database_url, "postgresql://u@pg:5432/db");
    EXPECT_EQ(config.feed.tokens, (std::vector<std::string>{"a-pg-b", "${HOST}", "$5"}));
    EXPECT_THAT(load_error("database_url: \"${HOST\"\n", {{"HOST", "pg"}}),
                HasSubstr("unterminated"));
}

TEST(config, bad_duration_names_key_and_line) {
    EXPECT_EQ(
        load_error(with_source("struct", "    api_key: k\n    poll_interval: fast\n")),
        "test.yaml:7: sources[0].poll_interval: invalid duration \"fast\" (write e.g. 500ms, 30s, "
        "5m, 2h, 7d)");
    EXPECT_EQ(load_error(with_source("struct", "    api_key: k\n    timeout: 0\n")),
              "test.yaml:7: sources[0].timeout: must be greater than 0");
    EXPECT_THAT(load_error(with_source("struct", "    api_key: k\n    overlap: -5m\n")),
                HasSubstr("test.yaml:7: sources[0].overlap: invalid duration"));
}

TEST(config, bad_types_name_key_and_line) {
    EXPECT_EQ(load_error("database_url: postgresql://localhost/cf\nfeed:\n  max_limit: -3\n"),
              "test.yaml:3: feed.max_limit: must be between 1 and 100000");
    EXPECT_EQ(load_error("database_url: postgresql://localhost/cf\nfeed:\n  max_limit: lots\n"),
              "test.yaml:3: feed.max_limit: expected an integer, got \"lots\"");
    EXPECT_EQ(load_error(with_source("retailcrm", "    api_key: k\n    resources: orders\n")),
              "test.yaml:7: sources[0].resources: expected a list, e.g. [a, b]");
    EXPECT_EQ(load_error(with_source("struct", "    api_key: k\n    enabled: maybe\n")),
              "test.yaml:7: sources[0].enabled: expected true or false, got \"maybe\"");
    EXPECT_EQ(load_error(with_source("struct", "    api_key: [k]\n")),
              "test.yaml:6: sources[0].api_key: expected a string");
    EXPECT_EQ(load_error("database_url: postgresql://localhost/cf\nsources: {}\n"),
              "test.yaml:2: sources: expected a list of sources");
    EXPECT_EQ(load_error(with_source(
                  "struct", "    api_key: k\n    rate_limit:\n      - {limit: 0, window: 1s}\n")),
              "test.yaml:8: sources[0].rate_limit[0].limit: must be between 1 and 4294967295");
}

TEST(config, bad_listen) {
    for (std::string_view bad : {"8080", "0.0.0.0", "0.0.0.0:", "0.0.0.0:65536", "::1:8080",
                                 ":8080", "[::1]8080", "[zz]:80", "host:http", "example.com:80",
                                 "10.0.0:80"}) {
        EXPECT_EQ(load_error("listen: \"" + std::string(bad) +
                             "\"\ndatabase_url: postgresql://localhost/cf\n"),
                  "test.yaml:1: listen: expected IP:PORT with a numeric address (or localhost) and a "
                  "port in 0..65535 (0.0.0.0:8080, [::]:8080)")
            << bad;
    }
    for (std::string_view good : {"127.0.0.1:1", "127.0.0.1:0", "[::]:8080", "[::1]:65535", "localhost:8080"}) {
        EXPECT_EQ(load_ok("listen: \"" + std::string(good) +
                          "\"\ndatabase_url: postgresql://localhost/cf\n")
                      .listen,
                  good);
    }
}

TEST(config, bad_base_url) {
    auto with_url = [](std::string_view url) {
        return "database_url: postgresql://localhost/cf\nsources:\n  - name: s\n    kind: struct\n"
               "    api_key: k\n    base_url: \"" +
               std::string(url) + "\"\n";
    };
    EXPECT_EQ(load_error(with_url("ftp://example.com")),
              "test.yaml:6: sources[0].base_url: expected an http:// or https:// URL");
    EXPECT_EQ(load_error(with_url("example.com")),
              "test.yaml:6: sources[0].base_url: expected an http:// or https:// URL");
    EXPECT_EQ(load_error(with_url("https://")),
              "test.yaml:6: sources[0].base_url: the URL has no host");
    EXPECT_THAT(load_error(with_url("https://user:pw@example.com")), HasSubstr("credentials"));
    EXPECT_THAT(load_error(with_url("https://example.com/?a=1")), HasSubstr("query"));
}

TEST(config, duplicate_source_name) {
    std::string yaml = with_source("struct", "    api_key: k\n") +
                       "  - name: one\n    kind: struct\n    base_url: http://b\n    api_key: k\n";
    EXPECT_EQ(load_error(yaml),
              "test.yaml:7: sources[1].name: duplicate source name \"one\" (also sources[0])");
    EXPECT_EQ(load_error("database_url: postgresql://localhost/cf\nsources:\n  - name: Bad.Name\n"
                         "    kind: struct\n    base_url: http://b\n    api_key: k\n"),
              "test.yaml:3: sources[0].name: must match [a-z0-9_-]{1,40}");
}

TEST(config, unknown_kind_suggests_the_nearest) {
    EXPECT_EQ(load_error(with_source("pennylan", "")),
              "test.yaml:4: sources[0].kind: unknown kind \"pennylan\" (did you mean "
              "\"pennylane\"?); known "
              "kinds: pennylane, saleschannel, retailcrm, struct, precoro");
    EXPECT_THAT(load_error("database_url: postgresql://localhost/cf\nsources:\n  - name: x\n"),
                HasSubstr("test.yaml:3: sources[0].kind: required"));
    EXPECT_EQ(load_error(with_source("struct", "    api_key: k\n    resources: [a]\n")),
              "test.yaml:7: sources[0].resources: kind struct takes no resources");
    EXPECT_EQ(
        load_error(with_source("pennylane", "    token: t\n    resources: [customer_invoice]\n")),
        "test.yaml:7: sources[0].resources[0]: unknown resource \"customer_invoice\" for kind "
        "pennylane "
        "(did you mean \"customer_invoices\"?); allowed: customer_invoices, supplier_invoices, "
        "customers, "
        "suppliers, products, transactions, ledger_entry_lines");
}

TEST(config, missing_required_secret) {
    EXPECT_EQ(load_error(with_source("pennylane", "    hydrate: true\n")),
              "test.yaml:3: sources[0].token: required for kind pennylane");
    EXPECT_EQ(
        load_error(with_source("precoro",
                               "    token: t\n    email: e\n    webhook_secret: \"${EMPTY}\"\n"),
                   {{"EMPTY", ""}}),
        "test.yaml:8: sources[0].webhook_secret: must not be empty");
    auto short_secret = load_error(with_source("precoro",
                                               "    token: t\n    email: e\n    webhook_secret: \"${HOOK}\"\n"),
                                   {{"HOOK", "hook-11char"}});
    EXPECT_EQ(short_secret,
              "test.yaml:8: sources[0].webhook_secret: must be at least 12 characters long, so "
              "that it cannot be guessed");
    EXPECT_EQ(load_error("listen: \"0.0.0.0:1\"\n"), "test.yaml:1: database_url: required");
    EXPECT_EQ(load_error(""), "test.yaml: database_url: required");
}

TEST(config, saleschannel_needs_exactly_one_auth_form) {
    EXPECT_EQ(
        load_ok(with_source("saleschannel", "    token: t\n")).sources.at(0).option_string("token"),
        "t");
    EXPECT_EQ(
        load_error(with_source("saleschannel",
                               "    token: t\n    api_key_id: i\n    api_key_secret: s\n")),
        "test.yaml:3: sources[0]: give either api_key_id + api_key_secret (HTTP Basic) or token "
        "(Bearer), not both");
    EXPECT_THAT(load_error(with_source("saleschannel", "")), HasSubstr("credentials missing"));
    EXPECT_THAT(load_error(with_source("saleschannel", "    api_key_id: i\n")),
                HasSubstr("api_key_secret is required with api_key_id"));
}

TEST(config, bad_enum_value) {
    EXPECT_EQ(load_error(with_source("saleschannel", "    token: t\n    query_encoding: xml\n")),
              "test.yaml:7: sources[0].query_encoding: must be one of brackets, json");
    EXPECT_EQ(load_error(with_source("retailcrm", "    api_key: k\n    page_limit: 30\n")),
              "test.yaml:7: sources[0].page_limit: must be one of 20, 50, 100, 250");
    EXPECT_EQ(
        load_error(with_source("precoro", "    token: t\n    email: e\n    webhook_secret: w-0123456789abcdef\n"
                                          "    per_page: 500\n")),
        "test.yaml:9: sources[0].per_page: must be one of 10, 20, 50, 100, 200");
    EXPECT_EQ(load_error("database_url: postgresql://localhost/cf\nlog_level: verbose\n"),
              "test.yaml:2: log_level: must be one of debug, info, warn, error");
    EXPECT_THAT(
        load_error(with_source("struct", "    api_key: k\n    start_from: yesterday\n")),
        HasSubstr("test.yaml:7: sources[0].start_from: expected \"now\" or an RFC 3339 time"));
}

TEST(config, yaml_syntax_error_reports_the_line) {
    EXPECT_EQ(
        load_error(
            "database_url: postgresql://localhost/cf\nfeed:\n  max_limit: 5\n   retention: 1d\n"),
        "test.yaml:4: invalid YAML: illegal map value");
    EXPECT_EQ(
        load_error(
            "database_url: postgresql://localhost/cf\nfeed:\n  tokens: [a, b\n  max_limit: 5\n"),
        "test.yaml:4: invalid YAML: end of sequence flow not found");
}

TEST(config, database_url_must_be_a_libpq_uri) {
    EXPECT_EQ(load_error("database_url: \"host=db password=x\"\n"),
              "test.yaml:1: database_url: expected a libpq URI "
              "(postgresql://user:password@host:5432/dbname)");
    EXPECT_EQ(load_error("database_url: \"\"\n"), "test.yaml:1: database_url: must not be empty");
    EXPECT_EQ(load_ok("database_url: \"postgresql://postgres@/db?host=/tmp/pg&port=5432\"\n")
                  .database_url,
              "postgresql://postgres@/db?host=/tmp/pg&port=5432");
}

TEST(config, render_redacted_hides_every_secret_and_loads_again) {
    auto config = load_ok(k_spec_yaml);
    config.sources[1].options["token"] = "puro-bearer-7Ua";
    config.database_url += "&password=query-pass-3Ee";
    std::string rendered = render_redacted(config);

    EXPECT_THAT(rendered, HasSubstr("REDACTED"));
    for (const auto& [name, value] : k_spec_env) {
        if (name != "DATABASE_URL") {
            EXPECT_THAT(rendered, Not(HasSubstr(value))) << name;
        }
    }
    for (std::string_view secret : {"db-pass-7Qx", "query-pass-3Ee", "puro-bearer-7Ua"}) {
        EXPECT_THAT(rendered, Not(HasSubstr(secret)));
    }
    EXPECT_THAT(rendered, HasSubstr("db.internal:5432/changefeed"));
    EXPECT_THAT(rendered, HasSubstr("retention: 30d"));

    config.sources[1].options["token"] = nullptr;  // one auth form, so it loads again
    config.sources[3].options["param_page"] = "${literal}";
    auto again = load_ok(render_redacted(config), {});
    EXPECT_EQ(render_redacted(again), render_redacted(config));
    ASSERT_EQ(again.sources.size(), 5u);
    EXPECT_EQ(again.sources[4].rate_limit, config.sources[4].rate_limit);
    EXPECT_EQ(again.sources[0].option_duration("overlap"), 60s);
    EXPECT_EQ(again.sources[0].option_string("token"), "***REDACTED***");
    EXPECT_EQ(again.sources[3].option_string("param_page"), "${literal}");
    EXPECT_EQ(render_redacted(load_ok("database_url: postgresql://h/d\n")),
              "listen: 0.0.0.0:8080\ndatabase_url: postgresql://h/d\nlog_level: "
              "info\ndatabase_pool_size: 4\n"
              "feed:\n  tokens: []\n  max_limit: 1000\n  retention: 30d\nsources: []\n");
}

}  // namespace
}  // namespace changefeed::app
