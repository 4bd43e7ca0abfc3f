/* SysTick-based instruction counter (see instruction_counter.h). */
#include "instruction_counter.h"

#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define SYST_CSR_ENABLE 1u
#define SYST_CSR_TICKINT 2u
#define SYST_CSR_CLKSOURCE_CORE 4u
#define SYST_RELOAD 0xFFFFFFu /* the 24-bit maximum: one wrap per 16.7 M ticks */

static volatile uint32_t systick_wraps;

/* Overrides startup.c's weak default handler. */
void SysTick_Handler(void) { ++systick_wraps; }

void instruction_counter_start(void) {
  SYST_CSR = 0;
  systick_wraps = 0;
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0; /* any write clears the counter; it reloads on the next tick */
  SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE_CORE;
  /* The cleared counter reads 0 until the first tick reloads it: wait for that, so the
   * count starts from the reload value (at most one tick late). */
  while (SYST_CVR == 0) {
  }
}

uint64_t instruction_counter_read(void) {
  uint32_t wraps, value;
  /* Re-read if a wrap interrupt ran between the two reads. */
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  /* SysTick counts down from the reload value. */
  const uint64_t ticks = (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
  return ticks * 1000000000u / SLING_CORE_CLOCK_HZ;
}
