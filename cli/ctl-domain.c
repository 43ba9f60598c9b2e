/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain NAME [set KEY VALUE|reset KEY]: a domain's own policy, shown or changed. */
#include <stdlib.h>

#include "domain-render.h"
#include "vmbalancectl-priv.h"

/* domain NAME | domain NAME set KEY VALUE | domain NAME reset KEY */
int
check_domain(const Command *cmd, int argc, char **argv)
{
    if (argc == 1)
        return EXIT_SUCCESS;
    if (g_str_equal(argv[1], "set") && argc == 4)
        return EXIT_SUCCESS;
    if (g_str_equal(argv[1], "reset") && argc == 3)
        return EXIT_SUCCESS;
    return usage_error(cmd, "expected NAME, NAME set KEY VALUE or NAME reset KEY");
}

static int
show_domain(VmbManager1 *proxy, const char *domain)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) policy = NULL;
    if (!vmb_manager1_call_get_domain_sync(proxy, domain, CALL_DEFAULTS, &policy, NULL, &error))
        return call_failed(error);
    g_autofree char *text = opt.json ? vmb_domain_to_json(policy) : vmb_domain_to_text(policy);
    g_print("%s", text);
    return EXIT_SUCCESS;
}

int
cmd_domain(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    if (argc == 1)
        return show_domain(proxy, argv[0]);
    g_autoptr(GError) error = NULL;
    gboolean set = g_str_equal(argv[1], "set");
    gboolean ok = set ? vmb_manager1_call_set_domain_policy_sync(proxy, argv[0], argv[2], argv[3],
                                                                 CALL_DEFAULTS, NULL, &error)
                      : vmb_manager1_call_reset_domain_policy_sync(proxy, argv[0], argv[2],
                                                                   CALL_DEFAULTS, NULL, &error);
    if (!ok)
        return call_failed(error);
    if (set)
        g_print("%s: %s = %s written to its metadata; in effect from the next cycle\n", argv[0],
                argv[2], argv[3]);
    else
        g_print("%s: %s removed from its metadata; in effect from the next cycle\n", argv[0],
                argv[2]);
    return EXIT_SUCCESS;
}
