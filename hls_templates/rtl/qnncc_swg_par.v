// qnncc RTL library: parallel-window sliding window generator (ConvolutionInputGenerator,
// parallel_window = 1, SIMD = C, no dilation).
//
// Input: an (already padded) IH x IW image, one pixel of C channels per word,
// row by row. Output: for each output pixel (oh, ow) ONE word holding the whole
// KH x KW window, element (i*KW + j)*C + c = x[oh*SH + i][ow*SW + j][c] (the
// order of the HLS swg_parallel and of the serial qnncc_swg, concatenated).
// One input pixel per cycle: KH-1 line RAMs (LINES) of IW pixels hold the rows
// above, line k the row h-1-k; the pixel (h, w) and the lines read at column w
// are shifted into a KH x KW window register, the lines cascade (line k gets
// line k-1's old pixel, line 0 the new one), and the window is emitted on the
// cycle of the pixel that completes it (its bottom-right corner on the stride
// grid). A frame takes IH*IW cycles (FINN's RTL SWG: input words + 2).
// Two pipeline stages share one enable (the output register free or taken):
// stage 1 registers the pixel and reads the lines, stage 2 shifts the window,
// writes the lines and loads the output register; a line read of the address
// written in the same cycle (IW = 1) is forwarded.
module qnncc_swg_par #(
    parameter IH = 1,
    parameter IW = 1,
    parameter C = 1,
    parameter KH = 1,
    parameter KW = 1,
    parameter SH = 1,
    parameter SW = 1,
    parameter OH = 1,
    parameter OW = 1,
    parameter BITS = 1,
    parameter RAM_STYLE = "auto"
) (
    input wire clk,
    input wire rst_n,
    input wire [C*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [KH*KW*C*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam PB = C * BITS;
  localparam LINES = (KH > 1) ? KH - 1 : 1;
  localparam AW = (IW > 1) ? $clog2(IW) : 1;
  localparam HW = $clog2(IH + 1) + 1;
  wire en = !out_valid || out_ready;
  assign in_ready = en;
  wire in_fire = in_valid && en;
  // ---------------------------------------------------------------- stage 1: pixel position
  reg [HW-1:0] h;
  reg [AW:0] w;
  wire row_ok = (h + 1 >= KH) && ((h + 1 - KH) % SH == 0) && ((h + 1 - KH) / SH < OH);
  wire col_ok = (w + 1 >= KW) && ((w + 1 - KW) % SW == 0) && ((w + 1 - KW) / SW < OW);
  reg s1_valid, s1_emit, s1_bypass;
  reg [PB-1:0] s1_x;
  reg [AW-1:0] s1_w;
  // ---------------------------------------------------------------- line RAMs (read in stage 1, written in stage 2)
  wire s2_fire = en && s1_valid;
  wire [LINES*PB-1:0] q_ram;  // line k at [k*PB +: PB], registered read of column w
  reg [LINES*PB-1:0] s1_forward;
  wire [LINES*PB-1:0] q = s1_bypass ? s1_forward : q_ram;
  wire [LINES*PB-1:0] line_wdata;  // what stage 2 writes: line 0 the pixel, line k line k-1's old pixel
  genvar k;
  generate
    for (k = 0; k < LINES; k = k + 1) begin : g_line
      wire [PB-1:0] line_in = (k == 0) ? s1_x : q[((k > 0) ? k - 1 : 0)*PB+:PB];
      assign line_wdata[k*PB+:PB] = line_in;
      qnncc_ram #(
          .WIDTH(PB),
          .DEPTH(IW),
          .AW(AW),
          .RAM_STYLE(RAM_STYLE)
      ) line (
          .clk(clk),
          .we(s2_fire && KH > 1),
          .waddr(s1_w),
          .wdata(line_in),
          .re(en),
          .raddr(w[AW-1:0]),
          .q(q_ram[k*PB+:PB])
      );
    end
  endgenerate
  // ---------------------------------------------------------------- stage 2: window register and output
  reg [PB-1:0] win[0:KH*KW-1];  // win[r*KW + j]: window row r (top first), column j (left first)
  wire [PB-1:0] column[0:KH-1];
  genvar r, j;
  generate
    for (r = 0; r < KH; r = r + 1) begin : g_col
      if (r == KH - 1) begin : g_new
        assign column[r] = s1_x;
      end else begin : g_old
        assign column[r] = q[(KH-2-r)*PB+:PB];
      end
    end
  endgenerate
  wire [KH*KW*PB-1:0] next_window;
  generate
    for (r = 0; r < KH; r = r + 1) begin : g_row
      for (j = 0; j < KW; j = j + 1) begin : g_pix
        if (j == KW - 1) begin : g_last
          assign next_window[(r*KW+j)*PB+:PB] = column[r];
        end else begin : g_shift
          assign next_window[(r*KW+j)*PB+:PB] = win[r*KW+j+1];
        end
      end
    end
  endgenerate
  integer i;
  always @(posedge clk) begin
    if (!rst_n) begin
      h <= 0;
      w <= 0;
      s1_valid <= 1'b0;
      s1_emit <= 1'b0;
      s1_bypass <= 1'b0;
      out_valid <= 1'b0;
    end else if (en) begin
      // stage 2
      out_valid <= s1_valid && s1_emit;
      if (s1_valid) begin
        for (i = 0; i < KH * KW; i = i + 1) win[i] <= next_window[i*PB+:PB];
        out_data <= next_window;
      end
      // stage 1
      s1_valid <= in_valid;
      s1_bypass <= s2_fire && (s1_w == w[AW-1:0]);
      s1_forward <= line_wdata;
      if (in_valid) begin
        s1_x <= in_data;
        s1_w <= w[AW-1:0];
        s1_emit <= row_ok && col_ok;
        if (w == IW - 1) begin
          w <= 0;
          h <= (h == IH - 1) ? 0 : h + 1'b1;
        end else w <= w + 1'b1;
      end
    end
  end
endmodule
