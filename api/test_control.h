/* api/test_control.h: the save-fault hook between st_model_save (api/stele.c) and
 * st_test_control (api/test_control.c). Test builds only (STELE_TEST_HOOKS); release builds
 * have neither the hook nor the entry point. */
#ifndef ST_API_TEST_CONTROL_H
#define ST_API_TEST_CONTROL_H
#ifdef STELE_TEST_HOOKS

#include "core.h"

/* Applies the fault armed for this thread's next save (and disarms it): *token is NULL when
 * none is armed or nothing could be perturbed, else what st_api_fault_end restores. */
st_status st_api_fault_begin(const st_model *m, void **token, st_error *err);
void st_api_fault_end(void *token);

#endif
#endif
