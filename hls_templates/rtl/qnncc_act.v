// qnncc RTL library: multi-threshold activation of PE values (combinational).
//
// Lane p: count = #{k : x[p] >= T[p][k]} over STEPS thresholds, output
// count + ACT_VAL (OUT_BITS two's complement), or for a BIPOLAR output the
// code of 2*count - 1 (1 for +1, 0 for -1) -- FINN's MultiThreshold semantics.
// x lanes are signed IN_W-bit values; T lane (p, k) is the signed T_W-bit field
// at bit (p*STEPS + k)*T_W of thr.
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
  integer p, k, count, value;
  reg signed [IN_W-1:0] a;
  reg signed [T_W-1:0] t;
  always @* begin
    y = {PE * OUT_BITS{1'b0}};
    for (p = 0; p < PE; p = p + 1) begin
      a = x[p*IN_W+:IN_W];
      count = 0;
      for (k = 0; k < STEPS; k = k + 1) begin
        t = thr[(p*STEPS+k)*T_W+:T_W];
        if (a >= t) count = count + 1;
      end
      value = (BIPOLAR_OUT != 0) ? ((count > 0) ? 1 : 0) : count + ACT_VAL;
      y[p*OUT_BITS+:OUT_BITS] = value[OUT_BITS-1:0];
    end
  end
endmodule
