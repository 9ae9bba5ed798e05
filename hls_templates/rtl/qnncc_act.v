// qnncc RTL library: multi-threshold activation of PE values (combinational).
//
// Lane p: count = #{k : x[p] >= T[p][k]} over STEPS thresholds, output
// count + ACT_VAL (OUT_BITS two's complement), or for a BIPOLAR output the
// code of 2*count - 1 (1 for +1, 0 for -1) -- FINN's MultiThreshold semantics.
// x lanes are signed IN_W-bit values; T lane (p, k) is the signed T_W-bit field
// at bit (p*STEPS + k)*T_W of thr.
//
// The count is a balanced tree of CW-bit adders over the STEPS comparison bits
// (heap order: node i sums nodes 2i and 2i+1, the leaves N..2N-1 are the bits),
// each node its own assignment: a procedural `count = count + 1` loop unrolls
// into one expression STEPS deep, which exhausts the call stack of Yosys'
// WebAssembly build for 8-bit outputs (255 thresholds).
module qnncc_act #(
    parameter PE = 1,
    parameter STEPS = 1,
    parameter IN_W = 8,
    parameter T_W = 8,
    parameter OUT_BITS = 1,
    parameter ACT_VAL = 0,
    parameter BIPOLAR_OUT = 0
) (
    input wire [PE*IN_W-1:0] x,
    input wire [PE*STEPS*T_W-1:0] thr,
    output wire [PE*OUT_BITS-1:0] y
);
  localparam N = 1 << $clog2(STEPS);  // leaves: STEPS rounded up to a power of two
  localparam CW = $clog2(STEPS + 1);  // count bits
  genvar p, k, i;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane
      wire signed [IN_W-1:0] a = x[p*IN_W+:IN_W];
      wire [2*N*CW-1:0] node;
      for (k = 0; k < N; k = k + 1) begin : g_leaf
        if (k < STEPS) begin : g_cmp
          wire signed [T_W-1:0] t = thr[(p*STEPS+k)*T_W+:T_W];
          assign node[(N+k)*CW+:CW] = (a >= t) ? 1 : 0;
        end else begin : g_pad
          assign node[(N+k)*CW+:CW] = 0;
        end
      end
      for (i = 1; i < N; i = i + 1) begin : g_sum
        assign node[i*CW+:CW] = node[2*i*CW+:CW] + node[(2*i+1)*CW+:CW];
      end
      assign node[CW-1:0] = 0;  // node 0 is not used
      wire [CW-1:0] count = node[CW+:CW];
      wire signed [31:0] value = (BIPOLAR_OUT != 0) ? ((count != 0) ? 1 : 0) : $signed({1'b0, count}) + ACT_VAL;
      assign y[p*OUT_BITS+:OUT_BITS] = value[OUT_BITS-1:0];
    end
  endgenerate
endmodule
