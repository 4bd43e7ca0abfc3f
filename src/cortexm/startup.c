/* Cortex-M startup for the QEMU firmware (M3, M4, M7, M55): vector table, reset handler and fault
 * handlers. Written in C because the M profile enters handlers with an AAPCS frame. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;

extern int main(void);
extern void __libc_init_array(void);
extern void initialise_monitor_handles(void); /* newlib rdimon: opens semihosting stdio */
extern void _exit(int status) __attribute__((noreturn));

void Reset_Handler(void) __attribute__((noreturn));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* A fault ends the run with a distinctive status instead of hanging until the timeout. */
static void Fault_Handler(void) { _exit(101); }
static void Default_Handler(void) { _exit(102); }

/* The 16 system exception entries; no external interrupts are enabled. */
__attribute__((section(".isr_vector"), used)) static void (*const vector_table[16])(void) = {
    (void (*)(void))(&_estack),
    Reset_Handler,
    Default_Handler, /* NMI */
    Fault_Handler,   /* HardFault */
    Fault_Handler,   /* MemManage */
    Fault_Handler,   /* BusFault */
    Fault_Handler,   /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMon */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
};

void Reset_Handler(void) {
  uint32_t* src = &_sidata;
  for (uint32_t* dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;

#if defined(__ARM_FP)
  /* Grant full access to CP10 and CP11 (the FPU) before any float instruction runs;
   * with -mfloat-abi=hard the C library may use it immediately. Cores without an FPU
   * (the M3, built with -mfloat-abi=soft) skip this. */
  volatile uint32_t* const cpacr = (volatile uint32_t*)0xE000ED88u;
  *cpacr |= (0xFu << 20);
  __asm volatile("dsb\n\tisb" ::: "memory");
#endif

  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
}
