/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A domain's own policy, carried in its libvirt XML as one metadata element:
 *
 *   <metadata>
 *     <vmbalance:policy xmlns:vmbalance="https://vmbalance.org/xmlns/policy/1"
 *                       cpu="auto" memory="off" weight="2" min_mib="512" max_mib="4096"/>
 *   </metadata>
 *
 * Every attribute is optional; what is absent comes from the configuration or the defaults.
 * This file parses and validates the element (pure: a string in, a policy or an error naming
 * attribute, value and what is allowed out), sets and resets single keys with the same rules,
 * writes the element back, and resolves the effective policy with where each value came from. */
#pragma once

#include <glib.h>

#define VMB_POLICY_XMLNS   "https://vmbalance.org/xmlns/policy/1"
#define VMB_POLICY_PREFIX  "vmbalance"
#define VMB_POLICY_ELEMENT "policy"

/* Largest metadata element accepted: a valid one is under 200 bytes. */
#define VMB_POLICY_MAX_XML 4096
/* Bounds of the attributes (weight as memory.weights; sizes up to 16 TiB). */
#define VMB_POLICY_WEIGHT_MIN 0.1
#define VMB_POLICY_WEIGHT_MAX 100.0
#define VMB_POLICY_MIB_MIN    1
#define VMB_POLICY_MIB_MAX    (G_GUINT64_CONSTANT(1) << 24)

typedef enum {
    VMB_POLICY_CPU = 1 << 0,
    VMB_POLICY_MEMORY = 1 << 1,
    VMB_POLICY_WEIGHT = 1 << 2,
    VMB_POLICY_MIN_MIB = 1 << 3,
    VMB_POLICY_MAX_MIB = 1 << 4,
} VmbPolicyKey;

typedef struct {
    guint set;           /* VmbPolicyKey bits present */
    gboolean cpu_off;    /* cpu="off" (valid when VMB_POLICY_CPU is set) */
    gboolean memory_off; /* memory="off" */
    double weight;       /* share under host memory pressure */
    guint64 min_mib;     /* never balloon below */
    guint64 max_mib;     /* never grow above */
} VmbDomainPolicy;

/* Parses the metadata element as virDomainGetMetadata() returns it (<policy .../>, without a
 * namespace: libvirt strips it) or as it stands in the domain XML (any prefix bound to
 * VMB_POLICY_XMLNS). Unknown attributes, child elements, text, a foreign namespace and
 * values out of range are errors (G_MARKUP_ERROR) naming the attribute, the value and what is
 * allowed; @out is then cleared. */
gboolean vmb_domain_policy_parse(const char *xml, gssize len, VmbDomainPolicy *out, GError **error);

/* Sets one attribute by name ("cpu", "memory", "weight", "min_mib", "max_mib") with the
 * parser's rules, including min_mib <= max_mib. @p is unchanged on error. */
gboolean vmb_domain_policy_set_key(VmbDomainPolicy *p, const char *key, const char *value,
                                   GError **error);
/* Removes one attribute; FALSE with @error for an unknown key. */
gboolean vmb_domain_policy_reset_key(VmbDomainPolicy *p, const char *key, GError **error);

/* The element for virDomainSetMetadata() (no namespace: libvirt adds it from the key and URI),
 * e.g. <policy cpu="off" weight="2"/>. */
char *vmb_domain_policy_to_xml(const VmbDomainPolicy *p);

/* The attribute names, in document order, NULL-terminated. */
extern const char *const vmb_domain_policy_keys[];

/* ---- the effective policy ---- */

/* Where a value of the effective policy came from. */
typedef enum {
    VMB_FROM_DEFAULT,    /* nothing set: the built-in default */
    VMB_FROM_CONFIG,     /* the configuration file (exclude, memory.weights) */
    VMB_FROM_METADATA,   /* the domain's vmbalance:policy element */
    VMB_FROM_DEFINITION, /* the domain's persistent definition (pins, hugepages, ...) */
    VMB_FROM_OPERATOR,   /* a change someone else made while the daemon ran (kept) */
    VMB_FROM_STATE,      /* the domain is paused or migrating */
} VmbPolicySource;

const char *vmb_policy_source_name(VmbPolicySource s);

/* What the host says about a domain besides its metadata. */
typedef struct {
    gboolean config_excluded; /* matches [daemon] exclude */
    gboolean config_weighted; /* matches an item of memory.weights ... */
    double config_weight;     /* ... with this weight */
    gboolean cpu_hands_off;   /* the definition pins or schedules its vCPUs (see below) */
    gboolean memory_hands_off;
    gboolean operator_cpu;    /* a foreign pin is respected */
    gboolean operator_memory; /* a foreign balloon target is respected */
    gboolean frozen;          /* paused or migrating: no changes at all */
} VmbPolicyContext;

typedef struct {
    gboolean cpu_managed, memory_managed;
    double weight;
    guint64 min_mib, max_mib; /* 0 = no bound */
    VmbPolicySource cpu_from, memory_from, weight_from, min_from, max_from;
} VmbEffectivePolicy;

/* The effective policy of a domain: the hands-off rules first (paused or migrating, the
 * persistent definition, a respected foreign change), then the metadata (@meta NULL when there
 * is none or it is invalid), then the configuration, then the defaults (managed, weight 1). */
void vmb_domain_policy_resolve(const VmbDomainPolicy *meta, const VmbPolicyContext *ctx,
                               VmbEffectivePolicy *out);
