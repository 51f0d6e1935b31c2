#include "sources/precoro/precoro_spec.hpp"

#include "sim/common/demo_source.hpp"
#include "sim/precoro/precoro_demo.hpp"
#include "sources/common/diff_keys.hpp"
#include "sources/precoro/precoro_source.hpp"
#include "sources/precoro/precoro_webhook.hpp"

namespace changefeed::sources::precoro {

using namespace std::chrono_literals;

kind_spec precoro_spec() {
    return {
        .kind = "precoro",
        .knobs =
            {
                {.name = "token",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "API key, sent as X-AUTH-TOKEN"},
                {.name = "email",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "the key owner's email, sent as the email header"},
                {.name = "webhook_secret",
                 .type = knob_type::secret,
                 .required = true,
                 .min_length = 12,
                 .help = "the ?token= that POST /webhooks/<source> must carry (at least 12 "
                         "characters: Precoro signs nothing, so this is the only credential)"},
                {.name = "per_page",
                 .type = knob_type::integer,
                 .default_value = 200,
                 .help = "list page size",
                 .allowed_values = {10, 20, 50, 100, 200}},
                {.name = "page_size_param",
                 .type = knob_type::string,
                 .default_value = "per_page",
                 .help = "name of the list page-size parameter (not documented by the vendor)"},
                {.name = "overlap",
                 .type = knob_type::duration,
                 .default_value = duration_default(10min),
                 .help = "modifiedSince = the newest updateDate a sweep saw minus this (UTC); raise "
                         "it by the offset when the company time zone is west of UTC"},
                {.name = "sweep_reserve",
                 .type = knob_type::integer,
                 .default_value = 10,
                 .help = "sweeps wait while less than this percentage of the longest rate-limit "
                         "window (the day) is left, keeping it for webhook fetches",
                 .min_int = 0,
                 .max_int = 100},
                {.name = "queue_check",
                 .type = knob_type::duration,
                 .default_value = duration_default(5s),
                 .help = "how often an idle poller looks for webhook deliveries another replica "
                         "accepted (a database read, no vendor request)"},
                diff_array_keys_knob("/items=id"),
            },
        .default_rate_limit = {{300, 1min}, {1500, 1h}, {3000, 24h}},
        .default_poll_interval = 15min,
        .allowed_resources = {"purchaseorders", "invoices", "suppliers", "items", "receipts",
                              "expenses", "warehouserequests", "purchaserequisitions", "rfps",
                              "stocktransfers", "budgets", "documentcustomfields",
                              "itemcustomfields"},
        .default_resources = {"suppliers", "purchaseorders", "invoices"},
        .check = check_diff_array_keys,
        .create = make_precoro_source,
        .demo = sim::precoro_demo,
        .webhook = make_webhook_handler,
    };
}

}  // namespace changefeed::sources::precoro
