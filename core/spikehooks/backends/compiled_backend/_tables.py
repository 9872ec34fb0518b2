"""Column layout shared by the compiled kernels and the backend that builds their tables.

Every population and connection is one row of an int64 table (offsets into
flat arrays, sizes, kinds and flags) and one row of a float32 table (its
constants), so one compiled function runs any network of the built-in
models without a Python call per population or per step.
"""

from __future__ import annotations

# Population kinds.
IF_INPUT, SPIKE_INPUT, POISSON, IF, LIF, LI, ALIF = range(7)
# Readout kinds.
NO_READOUT, SUM_VAR, MAX_VAR, AVG_VAR, SPIKE_COUNT, FIRST_SPIKE, AVG_EXP = range(7)

# Columns of the population int table (-1: absent).  P_THRESH_VAR .. P_TREFRAC_VAR,
# P_BETA_VAR, P_RHO_VAR: the fstate column of a parameter given per neuron (GeNN's
# Vthresh, Vreset, Alpha, TauRefrac, Beta, Rho variables), -1 when it is one number
# (then the float table holds it).  P_A: the adaptation variable ``A`` (ALIF).
(P_KIND, P_N, P_V, P_REFRAC, P_INPUT, P_ISYN, P_SPIKE, P_REC, P_READOUT, P_ACC,
 P_FRAMES, P_FRAME_STEPS, P_DATA, P_UNIFORM, P_BIAS, P_FLAGS, P_INJ_START, P_INJ_COUNT,
 P_LONE_DELTA, P_POINTER, P_THRESH_VAR, P_RESET_VAR, P_ALPHA_VAR, P_TREFRAC_VAR,
 P_A, P_BETA_VAR, P_RHO_VAR) = range(27)
POP_INT_COLUMNS = 27
# Flags (P_FLAGS bits).
SCALE_I, RELATIVE_RESET, REFRACTORY, INTEGRATE_IN_REFRAC = 1, 2, 4, 8

# Columns of the population float32 table.
# PF_BETA, PF_RHO: ALIF's adaptation strength and ``Rho = exp(-dt / tau_adapt)``.
(PF_THRESH, PF_RESET, PF_ALPHA, PF_ONE_MINUS_ALPHA, PF_DROP, PF_TAU_REFRAC,
 PF_AVG_SCALE, PF_DT, PF_BETA, PF_RHO) = range(10)
POP_FLOAT_COLUMNS = 10

# Columns of the connection int table.
# C_DECAY_AT / C_ISCALE_AT: offset in ``consts`` of a per-target-neuron synapse tau's
# ExpDecay / IScale, -1 when tau is one number.
# C_DELAY: offset of the per-synapse delays in the flat delay table (-1: no delays);
# C_RING / C_RING_SIZE: first fstate column and number of slots of the delay ring.
(C_PRE, C_POST, C_SRC_SPIKE, C_OUT, C_WEIGHT, C_EXPONENTIAL, C_ONE_TO_ONE, C_SCALED,
 C_ROW_START, C_DECAY_AT, C_ISCALE_AT, C_DELAY, C_RING, C_RING_SIZE) = range(14)
CONN_INT_COLUMNS = 14
# Columns of the connection float32 table.
CF_DECAY, CF_ISCALE = range(2)
CONN_FLOAT_COLUMNS = 2
