namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The PTX that <see cref="PtxWarpMma"/> emits (generated text: named registers, no operands but the lane offsets).
/// Accumulator tcc_IJE is element E of m16 tile I × n8 tile J; tca_IR is register R of m16 tile I's A fragment;
/// tcb_JR register R of n8 tile J's B fragment; tc_sbase the 32-bit shared address of the dynamic shared memory.
/// The constants are the byte strides of <see cref="TensorCoreLayout"/>: 1280 between m16 tiles
/// (<see cref="TensorCoreLayout.MTileBytes"/>), 5120 to the second B pair (<see cref="TensorCoreLayout.SecondPairBytes"/>),
/// 1280 between staging rows g and g + 8 (<see cref="TensorCoreLayout.StagingHalfBytes"/>), 32 between staged n8 tiles.
/// </summary>
public static class TensorCorePtx
{
    /// <summary>Function-scope registers and the shared base; emitted once, first in the kernel.</summary>
    public const string Declare = """
        .reg .f32 tcc_000, tcc_001, tcc_002, tcc_003, tcc_010, tcc_011, tcc_012, tcc_013, tcc_020, tcc_021, tcc_022, tcc_023, tcc_030, tcc_031, tcc_032, tcc_033, tcc_100, tcc_101, tcc_102, tcc_103, tcc_110, tcc_111, tcc_112, tcc_113, tcc_120, tcc_121, tcc_122, tcc_123, tcc_130, tcc_131, tcc_132, tcc_133, tcc_200, tcc_201, tcc_202, tcc_203, tcc_210, tcc_211, tcc_212, tcc_213, tcc_220, tcc_221, tcc_222, tcc_223, tcc_230, tcc_231, tcc_232, tcc_233, tcc_300, tcc_301, tcc_302, tcc_303, tcc_310, tcc_311, tcc_312, tcc_313, tcc_320, tcc_321, tcc_322, tcc_323, tcc_330, tcc_331, tcc_332, tcc_333;
        .reg .b32 tca_00, tca_01, tca_02, tca_03, tca_10, tca_11, tca_12, tca_13, tca_20, tca_21, tca_22, tca_23, tca_30, tca_31, tca_32, tca_33, tcb_00, tcb_01, tcb_10, tcb_11, tcb_20, tcb_21, tcb_30, tcb_31;
        .reg .u32 tc_sbase;
        { .reg .u64 tc_t; mov.u64 tc_t, __dyn_shared_alloca; cvt.u32.u64 tc_sbase, tc_t; }
        """;

    /// <summary>Every accumulator = 0.</summary>
    public const string Zero = """
        mov.f32 tcc_000, 0f00000000; mov.f32 tcc_001, 0f00000000; mov.f32 tcc_002, 0f00000000; mov.f32 tcc_003, 0f00000000; mov.f32 tcc_010, 0f00000000; mov.f32 tcc_011, 0f00000000; mov.f32 tcc_012, 0f00000000; mov.f32 tcc_013, 0f00000000; mov.f32 tcc_020, 0f00000000; mov.f32 tcc_021, 0f00000000; mov.f32 tcc_022, 0f00000000; mov.f32 tcc_023, 0f00000000; mov.f32 tcc_030, 0f00000000; mov.f32 tcc_031, 0f00000000; mov.f32 tcc_032, 0f00000000; mov.f32 tcc_033, 0f00000000;
        mov.f32 tcc_100, 0f00000000; mov.f32 tcc_101, 0f00000000; mov.f32 tcc_102, 0f00000000; mov.f32 tcc_103, 0f00000000; mov.f32 tcc_110, 0f00000000; mov.f32 tcc_111, 0f00000000; mov.f32 tcc_112, 0f00000000; mov.f32 tcc_113, 0f00000000; mov.f32 tcc_120, 0f00000000; mov.f32 tcc_121, 0f00000000; mov.f32 tcc_122, 0f00000000; mov.f32 tcc_123, 0f00000000; mov.f32 tcc_130, 0f00000000; mov.f32 tcc_131, 0f00000000; mov.f32 tcc_132, 0f00000000; mov.f32 tcc_133, 0f00000000;
        mov.f32 tcc_200, 0f00000000; mov.f32 tcc_201, 0f00000000; mov.f32 tcc_202, 0f00000000; mov.f32 tcc_203, 0f00000000; mov.f32 tcc_210, 0f00000000; mov.f32 tcc_211, 0f00000000; mov.f32 tcc_212, 0f00000000; mov.f32 tcc_213, 0f00000000; mov.f32 tcc_220, 0f00000000; mov.f32 tcc_221, 0f00000000; mov.f32 tcc_222, 0f00000000; mov.f32 tcc_223, 0f00000000; mov.f32 tcc_230, 0f00000000; mov.f32 tcc_231, 0f00000000; mov.f32 tcc_232, 0f00000000; mov.f32 tcc_233, 0f00000000;
        mov.f32 tcc_300, 0f00000000; mov.f32 tcc_301, 0f00000000; mov.f32 tcc_302, 0f00000000; mov.f32 tcc_303, 0f00000000; mov.f32 tcc_310, 0f00000000; mov.f32 tcc_311, 0f00000000; mov.f32 tcc_312, 0f00000000; mov.f32 tcc_313, 0f00000000; mov.f32 tcc_320, 0f00000000; mov.f32 tcc_321, 0f00000000; mov.f32 tcc_322, 0f00000000; mov.f32 tcc_323, 0f00000000; mov.f32 tcc_330, 0f00000000; mov.f32 tcc_331, 0f00000000; mov.f32 tcc_332, 0f00000000; mov.f32 tcc_333, 0f00000000;
        """;

    /// <summary>One k16 step of the warp: %0 = the lane's A ldmatrix byte offset (m16 tile 0), %1 = its B offset (first n8 pair); 4 + 2 ldmatrix.x4, 16 mma.</summary>
    public const string Step = """
        { .reg .u32 tc_pa, tc_pb;
        add.u32 tc_pa, tc_sbase, %0;
        add.u32 tc_pb, tc_sbase, %1;
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca_00, tca_01, tca_02, tca_03}, [tc_pa];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca_10, tca_11, tca_12, tca_13}, [tc_pa+1280];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca_20, tca_21, tca_22, tca_23}, [tc_pa+2560];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tca_30, tca_31, tca_32, tca_33}, [tc_pa+3840];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb_00, tcb_01, tcb_10, tcb_11}, [tc_pb];
        ldmatrix.sync.aligned.m8n8.x4.shared.b16 {tcb_20, tcb_21, tcb_30, tcb_31}, [tc_pb+5120];
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_000, tcc_001, tcc_002, tcc_003}, {tca_00, tca_01, tca_02, tca_03}, {tcb_00, tcb_01}, {tcc_000, tcc_001, tcc_002, tcc_003};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_010, tcc_011, tcc_012, tcc_013}, {tca_00, tca_01, tca_02, tca_03}, {tcb_10, tcb_11}, {tcc_010, tcc_011, tcc_012, tcc_013};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_020, tcc_021, tcc_022, tcc_023}, {tca_00, tca_01, tca_02, tca_03}, {tcb_20, tcb_21}, {tcc_020, tcc_021, tcc_022, tcc_023};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_030, tcc_031, tcc_032, tcc_033}, {tca_00, tca_01, tca_02, tca_03}, {tcb_30, tcb_31}, {tcc_030, tcc_031, tcc_032, tcc_033};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_100, tcc_101, tcc_102, tcc_103}, {tca_10, tca_11, tca_12, tca_13}, {tcb_00, tcb_01}, {tcc_100, tcc_101, tcc_102, tcc_103};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_110, tcc_111, tcc_112, tcc_113}, {tca_10, tca_11, tca_12, tca_13}, {tcb_10, tcb_11}, {tcc_110, tcc_111, tcc_112, tcc_113};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_120, tcc_121, tcc_122, tcc_123}, {tca_10, tca_11, tca_12, tca_13}, {tcb_20, tcb_21}, {tcc_120, tcc_121, tcc_122, tcc_123};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_130, tcc_131, tcc_132, tcc_133}, {tca_10, tca_11, tca_12, tca_13}, {tcb_30, tcb_31}, {tcc_130, tcc_131, tcc_132, tcc_133};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_200, tcc_201, tcc_202, tcc_203}, {tca_20, tca_21, tca_22, tca_23}, {tcb_00, tcb_01}, {tcc_200, tcc_201, tcc_202, tcc_203};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_210, tcc_211, tcc_212, tcc_213}, {tca_20, tca_21, tca_22, tca_23}, {tcb_10, tcb_11}, {tcc_210, tcc_211, tcc_212, tcc_213};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_220, tcc_221, tcc_222, tcc_223}, {tca_20, tca_21, tca_22, tca_23}, {tcb_20, tcb_21}, {tcc_220, tcc_221, tcc_222, tcc_223};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_230, tcc_231, tcc_232, tcc_233}, {tca_20, tca_21, tca_22, tca_23}, {tcb_30, tcb_31}, {tcc_230, tcc_231, tcc_232, tcc_233};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_300, tcc_301, tcc_302, tcc_303}, {tca_30, tca_31, tca_32, tca_33}, {tcb_00, tcb_01}, {tcc_300, tcc_301, tcc_302, tcc_303};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_310, tcc_311, tcc_312, tcc_313}, {tca_30, tca_31, tca_32, tca_33}, {tcb_10, tcb_11}, {tcc_310, tcc_311, tcc_312, tcc_313};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_320, tcc_321, tcc_322, tcc_323}, {tca_30, tca_31, tca_32, tca_33}, {tcb_20, tcb_21}, {tcc_320, tcc_321, tcc_322, tcc_323};
        mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {tcc_330, tcc_331, tcc_332, tcc_333}, {tca_30, tca_31, tca_32, tca_33}, {tcb_30, tcb_31}, {tcc_330, tcc_331, tcc_332, tcc_333};
        }
        """;

    /// <summary>Accumulators of m16 tile 0 to the staging area: %0 = the lane's staging byte offset.</summary>
    public const string Stage0 = """
        { .reg .u32 tc_ps;
        add.u32 tc_ps, tc_sbase, %0;
        st.shared.v2.f32 [tc_ps], {tcc_000, tcc_001};
        st.shared.v2.f32 [tc_ps+1280], {tcc_002, tcc_003};
        st.shared.v2.f32 [tc_ps+32], {tcc_010, tcc_011};
        st.shared.v2.f32 [tc_ps+1312], {tcc_012, tcc_013};
        st.shared.v2.f32 [tc_ps+64], {tcc_020, tcc_021};
        st.shared.v2.f32 [tc_ps+1344], {tcc_022, tcc_023};
        st.shared.v2.f32 [tc_ps+96], {tcc_030, tcc_031};
        st.shared.v2.f32 [tc_ps+1376], {tcc_032, tcc_033};
        }
        """;

    /// <summary>Accumulators of m16 tile 1 to the staging area: %0 = the lane's staging byte offset.</summary>
    public const string Stage1 = """
        { .reg .u32 tc_ps;
        add.u32 tc_ps, tc_sbase, %0;
        st.shared.v2.f32 [tc_ps], {tcc_100, tcc_101};
        st.shared.v2.f32 [tc_ps+1280], {tcc_102, tcc_103};
        st.shared.v2.f32 [tc_ps+32], {tcc_110, tcc_111};
        st.shared.v2.f32 [tc_ps+1312], {tcc_112, tcc_113};
        st.shared.v2.f32 [tc_ps+64], {tcc_120, tcc_121};
        st.shared.v2.f32 [tc_ps+1344], {tcc_122, tcc_123};
        st.shared.v2.f32 [tc_ps+96], {tcc_130, tcc_131};
        st.shared.v2.f32 [tc_ps+1376], {tcc_132, tcc_133};
        }
        """;

    /// <summary>Accumulators of m16 tile 2 to the staging area: %0 = the lane's staging byte offset.</summary>
    public const string Stage2 = """
        { .reg .u32 tc_ps;
        add.u32 tc_ps, tc_sbase, %0;
        st.shared.v2.f32 [tc_ps], {tcc_200, tcc_201};
        st.shared.v2.f32 [tc_ps+1280], {tcc_202, tcc_203};
        st.shared.v2.f32 [tc_ps+32], {tcc_210, tcc_211};
        st.shared.v2.f32 [tc_ps+1312], {tcc_212, tcc_213};
        st.shared.v2.f32 [tc_ps+64], {tcc_220, tcc_221};
        st.shared.v2.f32 [tc_ps+1344], {tcc_222, tcc_223};
        st.shared.v2.f32 [tc_ps+96], {tcc_230, tcc_231};
        st.shared.v2.f32 [tc_ps+1376], {tcc_232, tcc_233};
        }
        """;

    /// <summary>Accumulators of m16 tile 3 to the staging area: %0 = the lane's staging byte offset.</summary>
    public const string Stage3 = """
        { .reg .u32 tc_ps;
        add.u32 tc_ps, tc_sbase, %0;
        st.shared.v2.f32 [tc_ps], {tcc_300, tcc_301};
        st.shared.v2.f32 [tc_ps+1280], {tcc_302, tcc_303};
        st.shared.v2.f32 [tc_ps+32], {tcc_310, tcc_311};
        st.shared.v2.f32 [tc_ps+1312], {tcc_312, tcc_313};
        st.shared.v2.f32 [tc_ps+64], {tcc_320, tcc_321};
        st.shared.v2.f32 [tc_ps+1344], {tcc_322, tcc_323};
        st.shared.v2.f32 [tc_ps+96], {tcc_330, tcc_331};
        st.shared.v2.f32 [tc_ps+1376], {tcc_332, tcc_333};
        }
        """;
}
