#include "sources/pennylane/pennylane_spec.hpp"

#include "sim/common/demo_source.hpp"
#include "sim/pennylane/pennylane_demo.hpp"
#include "sources/common/diff_keys.hpp"
#include "sources/pennylane/pennylane_source.hpp"

namespace changefeed::sources::pennylane {

using namespace std::chrono_literals;

kind_spec pennylane_spec() {
    return {
        .kind = "pennylane",
        .knobs =
            {
                {.name = "token",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "Company/Firm API token or OAuth2 access token, sent as Bearer"},
                {.name = "hydrate",
                 .type = knob_type::boolean,
                 .default_value = false,
                 .help = "fetch the current resource state into the event's data"},
                {.name = "hydrate_chunk",
                 .type = knob_type::integer,
                 .default_value = 100,
                 .help = "ids per hydration request (`in` filter, limit); list endpoints allow 100",
                 .max_int = 100},
                {.name = "hydrate_concurrency",
                 .type = knob_type::integer,
                 .default_value = 4,
                 .help = "hydration requests in flight at once (each still within rate_limit)",
                 .max_int = 16},
                {.name = "page_limit",
                 .type = knob_type::integer,
                 .default_value = 1000,
                 .help = "changelog `limit` per page (1..1000)",
                 .max_int = 1000},
                {.name = "overlap",
                 .type = knob_type::duration,
                 .default_value = duration_default(60s),
                 .help = "changes reaching the changelog up to this late are still caught "
                         "(start_date trails the watermark by it)"},
                {.name = "retention",
                 .type = knob_type::duration,
                 .default_value = duration_default(std::chrono::days(28)),
                 .help = "how far back the vendor keeps changelogs; a watermark older than this "
                         "triggers a resync through the list endpoints"},
                diff_array_keys_knob("/invoice_lines=id"),
            },
        .default_rate_limit = {{25, 5s}},
        .default_poll_interval = 60s,
        .allowed_resources = {"customer_invoices", "supplier_invoices", "customers", "suppliers",
                              "products", "transactions", "ledger_entry_lines"},
        .default_resources = {"customer_invoices", "supplier_invoices", "customers", "suppliers",
                              "products"},
        .check = check_diff_array_keys,
        .create = make_pennylane_source,
        .demo = sim::pennylane_demo,
    };
}

}  // namespace changefeed::sources::pennylane
