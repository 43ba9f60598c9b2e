/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Prints the configuration key table of daemon/config.c, one key a line:
 *   NAME <tab> DEFAULT <tab> ALLOWED <tab> HELP
 * DEFAULT as vmb_config_get() shows it ("none" for an empty list, "daemon.interval" for a
 * task interval that inherits it), ALLOWED as the configuration errors word it. test-man.sh
 * checks vmbalanced.conf(5) against this, so the page follows the code, not a copy of it. */
#include <stdio.h>

#include "config.h"

static char *
default_text(const VmbConfig *c, const VmbKeyInfo *key)
{
    if (key->zero_is_unset && *(const guint *) ((const char *) c + key->offset) == 0)
        return g_strdup("daemon.interval");
    g_autoptr(GError) error = NULL;
    g_autofree char *value = vmb_config_get(c, key->name, &error);
    if (!value)
        g_error("%s", error->message);
    return *value ? g_steal_pointer(&value) : g_strdup("none");
}

int
main(void)
{
    g_autoptr(VmbConfig) defaults = vmb_config_new_defaults();
    guint n = 0;
    const VmbKeyInfo *keys = vmb_config_keys(&n);
    for (guint i = 0; i < n; i++) {
        g_autofree char *def = default_text(defaults, &keys[i]);
        g_autofree char *allowed = vmb_config_describe_range(&keys[i]);
        printf("%s\t%s\t%s\t%s\n", keys[i].name, def, allowed, keys[i].help);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
