// qnncc RTL library: multi-threshold activation of PE values (combinational).
//
// Lane p: count = #{k : x[p] >= T[p][k]} over STEPS thresholds, output
// count + ACT_VAL (OUT_BITS two's complement), or for a BIPOLAR output the
// code of 2*count - 1 (1 for +1, 0 for -1) -- FINN's MultiThreshold semantics.
// x lanes are signed IN_W-bit values; T lane (p, k) is the signed T_W-bit field
// at bit (p*STEPS + k)*T_W of thr.
//
// The count is summed in two levels: GROUP comparisons into a partial count,
// then the partial counts. A single `count = count + 1` loop unrolls into one
// expression STEPS deep, which exhausts the call stack of Yosys' WebAssembly
// build for 8-bit outputs (255 thresholds); two levels are at most
// GROUP + STEPS/GROUP deep (32 for 255). The counts are narrow integers of a
// procedural block (CW and GW bits), which Verilator compiles quickly (a heap-ordered adder
// tree in one wide vector took it minutes for a CNN).
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
    output reg [PE*OUT_BITS-1:0] y
);
  localparam GROUP = 16;
  localparam CW = $clog2(STEPS + 1);  // count bits
  localparam GW = $clog2(GROUP + 1);  // partial count bits
  integer p, g, k, value;
  reg [CW-1:0] count;
  reg [GW-1:0] part;
  reg signed [IN_W-1:0] a;
  reg signed [T_W-1:0] t;
  always @* begin
    y = {PE * OUT_BITS{1'b0}};
    for (p = 0; p < PE; p = p + 1) begin
      a = x[p*IN_W+:IN_W];
      count = 0;
      for (g = 0; g < STEPS; g = g + GROUP) begin
        part = 0;
        for (k = g; k < g + GROUP; k = k + 1) begin
          if (k < STEPS) begin
            t = thr[(p*STEPS+k)*T_W+:T_W];
            if (a >= t) part = part + 1;
          end
        end
        count = count + part;
      end
      value = (BIPOLAR_OUT != 0) ? ((count != 0) ? 1 : 0) : $signed({1'b0, count}) + ACT_VAL;
      y[p*OUT_BITS+:OUT_BITS] = value[OUT_BITS-1:0];
    end
  end
endmodule
