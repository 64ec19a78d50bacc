/* slots.h: counts of concurrent holders per key (open event streams per
 * user), each key capped. An entry lives only while its count is above zero,
 * so memory is bounded by what is held. In-process: in distributed mode each
 * API instance counts its own streams. */
#ifndef CP_SLOTS_H
#define CP_SLOTS_H

#include "core/cp.h"

typedef struct cp_slots cp_slots;

cp_slots *cp_slots_new(void);
void cp_slots_free(cp_slots *s);
/* Takes one slot of key if fewer than cap are held; false otherwise. */
bool cp_slots_acquire(cp_slots *s, const char *key, long cap);
/* Gives back one slot of key (taken by cp_slots_acquire). */
void cp_slots_release(cp_slots *s, const char *key);
/* Slots held for key now. */
long cp_slots_held(cp_slots *s, const char *key);

#endif
