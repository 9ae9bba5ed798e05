// qnncc RTL library: matrix-vector-activation unit (MVAU) with PE/SIMD folding.
//
// Per input vector x[MW] (SF = MW/SIMD words of SIMD elements) it computes
// acc[c] = sum_i x[i] * W[i][c] for the MH output channels, PE at a time,
// and writes NF = MH/PE words of PE outputs: thresholded (qnncc_act) when
// HAS_ACT, else the accumulator in OUT_BITS. One weight word per cycle:
// SF * NF cycles per vector (FINN, Umuroglu et al., FPGA 2017). The input
// vector is kept in a buffer during the first neuron fold (nf = 0) and
// replayed for the others.
//
// Weight ROM (W_FILE): word nf*SF + sf holds, in lane p*SIMD + s,
// W[sf*SIMD + s][nf*PE + p]. XNOR mode: BINARY codes of bipolar values, a lane
// adds 1 when input and weight bits are equal (popcount of XNOR).
// Threshold ROM (T_FILE): word nf holds thresholds (p, k) of channel nf*PE + p.
//
// Pipeline: issue (counters, ROM address) -> products/accumulate -> result ->
// output register; every stage advances when the output register is free or
// being read (en), so back-pressure stalls the whole pipeline.
module qnncc_mvau #(
    parameter MW = 4,
    parameter MH = 4,
    parameter SIMD = 1,
    parameter PE = 1,
    parameter IN_BITS = 1,
    parameter IN_SIGNED = 0,
    parameter IN_BIPOLAR = 0,
    parameter W_BITS = 1,
    parameter W_SIGNED = 0,
    parameter W_BIPOLAR = 0,
    parameter XNOR = 0,
    parameter ACC_W = 16,
    parameter OUT_BITS = 1,
    parameter HAS_ACT = 1,
    parameter STEPS = 1,
    parameter T_W = 8,
    parameter ACT_VAL = 0,
    parameter BIPOLAR_OUT = 0,
    parameter W_FILE = "",
    parameter T_FILE = "",
    parameter RAM_STYLE = "auto",
    parameter T_RAM_STYLE = "distributed"
) (
    input wire clk,
    input wire rst_n,
    input wire [SIMD*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [PE*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam SF = MW / SIMD;
  localparam NF = MH / PE;
  localparam WDEPTH = SF * NF;
  localparam SFW = (SF > 1) ? $clog2(SF) : 1;
  localparam NFW = (NF > 1) ? $clog2(NF) : 1;
  localparam WAW = (WDEPTH > 1) ? $clog2(WDEPTH) : 1;
  localparam XW = SIMD * IN_BITS;
  localparam WW = PE * SIMD * W_BITS;

  wire en = !out_valid || out_ready;
  reg [SFW-1:0] sf;
  reg [NFW-1:0] nf;
  reg [WAW-1:0] waddr;
  wire need_in = (nf == 0);
  wire issue = need_in ? in_valid : 1'b1;
  assign in_ready = en && need_in;

  reg [XW-1:0] inbuf[0:SF-1];
  always @(posedge clk) if (en && need_in && in_valid) inbuf[sf] <= in_data;

  // stage B: input word, weight word (ROM output) and thresholds of nf
  reg b_valid, b_first, b_last;
  reg [XW-1:0] b_x;
  wire [WW-1:0] w_q;
  qnncc_rom #(
      .WIDTH(WW),
      .DEPTH(WDEPTH),
      .AW(WAW),
      .INIT_FILE(W_FILE),
      .RAM_STYLE(RAM_STYLE)
  ) weights (
      .clk(clk),
      .en(en),
      .addr(waddr),
      .q(w_q)
  );
  wire [PE*STEPS*T_W-1:0] t_q;
  generate
    if (HAS_ACT != 0) begin : g_thr
      qnncc_rom #(
          .WIDTH(PE * STEPS * T_W),
          .DEPTH(NF),
          .AW(NFW),
          .INIT_FILE(T_FILE),
          .RAM_STYLE(T_RAM_STYLE)
      ) thresholds (
          .clk(clk),
          .en(en),
          .addr(nf),
          .q(t_q)
      );
    end else begin : g_nothr
      assign t_q = {PE * STEPS * T_W{1'b0}};
    end
  endgenerate

  // dot products of stage B
  wire [SIMD*(IN_BITS+1)-1:0] xs;
  wire [PE*SIMD*(W_BITS+1)-1:0] ws;
  qnncc_decode #(
      .N(SIMD),
      .BITS(IN_BITS),
      .SIGNED(IN_SIGNED),
      .BIPOLAR(IN_BIPOLAR)
  ) dec_x (
      .x(b_x),
      .y(xs)
  );
  qnncc_decode #(
      .N(PE * SIMD),
      .BITS(W_BITS),
      .SIGNED(W_SIGNED),
      .BIPOLAR(W_BIPOLAR)
  ) dec_w (
      .x(w_q),
      .y(ws)
  );
  reg [PE*ACC_W-1:0] acc, acc_next;
  reg signed [ACC_W-1:0] sum, prev;
  reg signed [IN_BITS:0] xv;
  reg signed [W_BITS:0] wv;
  integer p, s;
  always @* begin
    acc_next = acc;
    for (p = 0; p < PE; p = p + 1) begin
      sum = 0;
      for (s = 0; s < SIMD; s = s + 1) begin
        if (XNOR != 0) begin
          sum = sum + ((b_x[s] == w_q[p*SIMD+s]) ? 1 : 0);
        end else begin
          xv = xs[s*(IN_BITS+1)+:IN_BITS+1];
          wv = ws[(p*SIMD+s)*(W_BITS+1)+:W_BITS+1];
          sum = sum + xv * wv;
        end
      end
      prev = acc[p*ACC_W+:ACC_W];
      acc_next[p*ACC_W+:ACC_W] = b_first ? sum : prev + sum;
    end
  end

  // stage C: finished accumulators and their thresholds
  reg c_valid;
  reg [PE*ACC_W-1:0] c_acc;
  reg [PE*STEPS*T_W-1:0] c_thr;
  wire [PE*OUT_BITS-1:0] y;
  generate
    if (HAS_ACT != 0) begin : g_act
      qnncc_act #(
          .PE(PE),
          .STEPS(STEPS),
          .IN_W(ACC_W),
          .T_W(T_W),
          .OUT_BITS(OUT_BITS),
          .ACT_VAL(ACT_VAL),
          .BIPOLAR_OUT(BIPOLAR_OUT)
      ) act (
          .x(c_acc),
          .thr(c_thr),
          .y(y)
      );
    end else begin : g_noact
      genvar q;
      for (q = 0; q < PE; q = q + 1) begin : g_lane
        wire signed [ACC_W-1:0] a = c_acc[q*ACC_W+:ACC_W];
        wire signed [OUT_BITS+ACC_W-1:0] wide = a;
        assign y[q*OUT_BITS+:OUT_BITS] = wide[OUT_BITS-1:0];
      end
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      sf <= 0;
      nf <= 0;
      waddr <= 0;
      b_valid <= 1'b0;
      c_valid <= 1'b0;
      out_valid <= 1'b0;
    end else if (en) begin
      b_valid <= issue;
      if (issue) begin
        b_x <= need_in ? in_data : inbuf[sf];
        b_first <= (sf == 0);
        b_last <= (sf == SF - 1);
        waddr <= (waddr == WDEPTH - 1) ? 0 : waddr + 1'b1;
        if (sf == SF - 1) begin
          sf <= 0;
          nf <= (nf == NF - 1) ? 0 : nf + 1'b1;
        end else begin
          sf <= sf + 1'b1;
        end
      end
      if (b_valid) acc <= acc_next;
      c_valid <= b_valid && b_last;
      if (b_valid && b_last) begin
        c_acc <= acc_next;
        c_thr <= t_q;
      end
      out_valid <= c_valid;
      if (c_valid) out_data <= y;
    end
  end
endmodule
