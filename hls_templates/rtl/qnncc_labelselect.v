// qnncc RTL library: LabelSelect, the indices of the K largest of LABELS scores.
//
// Largest first, the lower index first on ties (ONNX TopK order). Reads
// LABELS/PE words of PE scores per vector into a sorted top-K list (PE
// insertions per cycle, strict comparison so an earlier index stays ahead of
// an equal later one), then writes K words of one index each:
// LABELS/PE + K cycles per vector.
module qnncc_labelselect #(
    parameter LABELS = 2,
    parameter PE = 1,
    parameter K = 1,
    parameter IN_BITS = 8,
    parameter IN_SIGNED = 0,
    parameter IN_BIPOLAR = 0,
    parameter OUT_BITS = 8
) (
    input wire clk,
    input wire rst_n,
    input wire [PE*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output wire [OUT_BITS-1:0] out_data,
    output wire out_valid,
    input wire out_ready
);
  localparam WORDS = LABELS / PE;
  localparam VB = IN_BITS + 1;
  localparam IB = (LABELS > 1) ? $clog2(LABELS) : 1;
  localparam WW = (WORDS > 1) ? $clog2(WORDS) : 1;
  localparam KW = (K > 1) ? $clog2(K) : 1;
  reg emit;
  reg [WW-1:0] w;
  reg [KW-1:0] k;
  reg [K*VB-1:0] tv, tv_n;
  reg [K*IB-1:0] ti, ti_n;
  reg [K-1:0] tok, tok_n;
  assign in_ready = !emit;
  assign out_valid = emit;
  wire [IB-1:0] idx_out = ti[k*IB+:IB];
  assign out_data = {{OUT_BITS{1'b0}}, idx_out};
  wire [PE*VB-1:0] xs;
  qnncc_decode #(
      .N(PE),
      .BITS(IN_BITS),
      .SIGNED(IN_SIGNED),
      .BIPOLAR(IN_BIPOLAR)
  ) dec (
      .x(in_data),
      .y(xs)
  );
  integer p, j;
  reg signed [VB-1:0] v, cur, above;
  reg [IB-1:0] index;
  reg beats, place;
  always @* begin
    tv_n = tv;
    ti_n = ti;
    tok_n = tok;
    for (p = 0; p < PE; p = p + 1) begin
      v = xs[p*VB+:VB];
      index = w * PE + p;
      for (j = K - 1; j >= 1; j = j - 1) begin
        cur = tv_n[j*VB+:VB];
        above = tv_n[(j-1)*VB+:VB];
        beats = !tok_n[j] || (v > cur);
        place = tok_n[j-1] && !(v > above);
        if (beats && place) begin
          tv_n[j*VB+:VB] = v;
          ti_n[j*IB+:IB] = index;
          tok_n[j] = 1'b1;
        end else if (beats) begin
          tv_n[j*VB+:VB] = above;
          ti_n[j*IB+:IB] = ti_n[(j-1)*IB+:IB];
          tok_n[j] = tok_n[j-1];
        end
      end
      cur = tv_n[VB-1:0];
      if (!tok_n[0] || (v > cur)) begin
        tv_n[VB-1:0] = v;
        ti_n[IB-1:0] = index;
        tok_n[0] = 1'b1;
      end
    end
  end
  always @(posedge clk) begin
    if (!rst_n) begin
      emit <= 1'b0;
      w <= 0;
      k <= 0;
      tok <= {K{1'b0}};
    end else if (!emit) begin
      if (in_valid) begin
        tv <= tv_n;
        ti <= ti_n;
        tok <= tok_n;
        if (w == WORDS - 1) begin
          w <= 0;
          emit <= 1'b1;
        end else w <= w + 1'b1;
      end
    end else if (out_ready) begin
      if (k == K - 1) begin
        k <= 0;
        emit <= 1'b0;
        tok <= {K{1'b0}};
      end else k <= k + 1'b1;
    end
  end
endmodule
